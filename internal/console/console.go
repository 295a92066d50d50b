// Package console serves Gatehouse's admin console: a single page,
// embedded in the binary, that signs the administrator on through the
// Administrators environment's own authorize endpoint (authorization code
// and PKCE, as a public client) and then talks only to the public /v1
// API with the administrator's token, so that roles apply to it exactly
// as they do to any client. The server side is static: the page, its
// assets and the ids it needs to start a sign-on.
package console

import (
	"crypto/sha256"
	"embed"
	"encoding/hex"
	"io/fs"
	"net/http"
	"path"
	"sort"
	"strings"

	"github.com/gatehouse-id/gatehouse/internal/wire"
)

//go:embed assets
var assetFS embed.FS

// Options are what the page needs to start a sign-on.
type Options struct {
	// EnvironmentID is the Administrators environment, where the
	// administrators sign on.
	EnvironmentID string
	// ClientID is the console application's client id (a WORKER
	// application with the authorization code grant: its tokens act with
	// the signed-on user's roles).
	ClientID string
	// BaseURL is the authPath; the apiPath is BaseURL + "/v1".
	BaseURL string
}

// Handler serves the console.
type Handler struct {
	opts    Options
	assets  map[string][]byte
	version string
}

// New reads the embedded assets once.
func New(opts Options) *Handler {
	h := &Handler{opts: opts, assets: map[string][]byte{}}
	sum := sha256.New()
	var names []string
	fs.WalkDir(assetFS, "assets", func(p string, d fs.DirEntry, err error) error {
		if err == nil && !d.IsDir() {
			names = append(names, p)
		}
		return nil
	})
	sort.Strings(names)
	for _, n := range names {
		b, _ := assetFS.ReadFile(n)
		h.assets[strings.TrimPrefix(n, "assets/")] = b
		sum.Write([]byte(n))
		sum.Write(b)
	}
	h.version = hex.EncodeToString(sum.Sum(nil))[:12]
	return h
}

// Routes registers the page, its assets and its configuration.
func (h *Handler) Routes(mux *http.ServeMux) {
	mux.HandleFunc("GET /console/{$}", h.page)
	mux.HandleFunc("GET /console", func(w http.ResponseWriter, r *http.Request) {
		target := "/console/"
		if r.URL.RawQuery != "" {
			target += "?" + r.URL.RawQuery
		}
		http.Redirect(w, r, target, http.StatusMovedPermanently)
	})
	mux.HandleFunc("GET /console/config.json", h.config)
	mux.HandleFunc("GET /console/assets/{name...}", h.asset)
}

// CSP allows the console's own scripts and styles and nothing inline. The
// theme preview frames the console's own preview page (frame-src 'self');
// logos may come from https URLs, as on the sign-on page.
const CSP = "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' https: data:; connect-src 'self'; " +
	"frame-src 'self'; form-action 'self'; frame-ancestors 'self'; base-uri 'none'"

func secureHeaders(w http.ResponseWriter) {
	hd := w.Header()
	hd.Set("Content-Security-Policy", CSP)
	// The console may frame its own preview, nothing else may frame it.
	hd.Set("X-Frame-Options", "SAMEORIGIN")
	hd.Set("X-Content-Type-Options", "nosniff")
	// The authorization code comes back in the page's URL: no Referer
	// carries it anywhere.
	hd.Set("Referrer-Policy", "no-referrer")
}

func (h *Handler) page(w http.ResponseWriter, r *http.Request) {
	b := h.assets["index.html"]
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.Header().Set("Cache-Control", "no-store")
	secureHeaders(w)
	// Asset URLs carry the build's version so a new binary's scripts are
	// never mixed with an old one's from the cache.
	w.Write([]byte(strings.ReplaceAll(string(b), "{{v}}", h.version)))
}

func (h *Handler) config(w http.ResponseWriter, r *http.Request) {
	secureHeaders(w)
	w.Header().Set("Cache-Control", "no-store")
	wire.Write(w, http.StatusOK, map[string]string{
		"environmentId": h.opts.EnvironmentID,
		"clientId":      h.opts.ClientID,
		"authPath":      h.opts.BaseURL,
		"apiPath":       h.opts.BaseURL + "/v1",
		"version":       h.version,
	})
}

var contentTypes = map[string]string{
	".js":   "text/javascript; charset=utf-8",
	".css":  "text/css; charset=utf-8",
	".svg":  "image/svg+xml",
	".html": "text/html; charset=utf-8",
	".png":  "image/png",
}

func (h *Handler) asset(w http.ResponseWriter, r *http.Request) {
	name := r.PathValue("name")
	b, ok := h.assets[name]
	if !ok || name == "index.html" {
		wire.WriteErrorCtx(r.Context(), w, wire.NotFound(""))
		return
	}
	if ct, ok := contentTypes[path.Ext(name)]; ok {
		w.Header().Set("Content-Type", ct)
	}
	secureHeaders(w)
	// Module imports carry no version: revalidate rather than cache long,
	// so a new build's modules are never mixed with an old one's.
	w.Header().Set("Cache-Control", "no-cache")
	w.Header().Set("ETag", `"`+h.version+`"`)
	if r.Header.Get("If-None-Match") == `"`+h.version+`"` {
		w.WriteHeader(http.StatusNotModified)
		return
	}
	w.Write(b)
}
