package app

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/gatehouse-id/gatehouse/internal/httpx"
)

// setupTLS loads the certificate the listener serves: the given files, or
// with TLSDev the development CA's certificate for the base URL's host
// (made or renewed as needed). It returns nil when TLS is off, and with
// TLSDev the CA's absolute path for the bootstrap file.
func setupTLS(cfg Config, now time.Time) (*httpx.Certificates, string, error) {
	given := cfg.TLSCertFile != "" || cfg.TLSKeyFile != ""
	switch {
	case cfg.TLSDev && given:
		return nil, "", errors.New("--tls-dev makes its own certificate: use --tls-dev or --tls-cert with --tls-key, not both")
	case given && (cfg.TLSCertFile == "" || cfg.TLSKeyFile == ""):
		return nil, "", errors.New("--tls-cert and --tls-key go together: set both (GATEHOUSE_TLS_CERT, GATEHOUSE_TLS_KEY) or neither")
	case !cfg.TLSDev && !given:
		return nil, "", nil
	}
	base, err := url.Parse(cfg.BaseURL)
	if err != nil || base.Scheme != "https" || base.Hostname() == "" {
		return nil, "", fmt.Errorf("with TLS on, the base URL must be https://host[:port], not %q", cfg.BaseURL)
	}
	certFile, keyFile, caFile := cfg.TLSCertFile, cfg.TLSKeyFile, ""
	if cfg.TLSDev {
		dir, err := filepath.Abs(devTLSDir(cfg.DB, cfg.BootstrapFile))
		if err != nil {
			return nil, "", err
		}
		d, err := httpx.EnsureDevCertificate(dir, base.Hostname(), now)
		if err != nil {
			return nil, "", err
		}
		switch {
		case d.ReplacedCA != "":
			// SSL_CERT_FILE names the same path and follows by itself; a
			// system trust store holds the old CA until told otherwise.
			cfg.Logger.Warn("development TLS: made a new CA, replacing the one there ("+d.ReplacedCA+
				"); trust the new one wherever the old one was added to a trust store", "caFile", d.CAFile)
		case d.NewCA:
			cfg.Logger.Info("development TLS: made a CA for "+base.Hostname(), "caFile", d.CAFile)
		}
		if d.NewCert {
			cfg.Logger.Info("development TLS: issued a certificate for "+base.Hostname(), "certFile", d.CertFile)
		}
		cfg.Logger.Info("development TLS: clients trust this server with SSL_CERT_FILE="+d.CAFile, "caFile", d.CAFile)
		certFile, keyFile, caFile = d.CertFile, d.KeyFile, d.CAFile
	}
	certs, err := httpx.LoadCertificates(certFile, keyFile)
	if err != nil {
		return nil, "", err
	}
	if leaf := certs.Leaf(); now.After(leaf.NotAfter) {
		cfg.Logger.Warn("the TLS certificate has expired", "certFile", certFile, "notAfter", leaf.NotAfter.UTC().Format(time.RFC3339))
	}
	return certs, caFile, nil
}

// devTLSDir is where the development CA lives: beside the SQLite file, or
// for a database with no file of its own, beside the bootstrap file.
func devTLSDir(db, bootstrapFile string) string {
	if path, ok := strings.CutPrefix(db, "sqlite:"); ok && path != ":memory:" {
		return filepath.Dir(path)
	}
	return filepath.Dir(bootstrapFile)
}

// ReloadTLS reads the certificate files again (the binary does on SIGHUP)
// and logs the outcome with why. On error the current certificate stays.
func (s *Server) ReloadTLS(why string) error {
	if s.tls == nil {
		return errors.New("TLS is off: there is no certificate to reload")
	}
	return s.tls.ReloadLogged(s.log, why)
}

// updateBootstrapFile sets the members of set that an existing bootstrap
// file lacks or holds other values for, keeping every other member as it
// is: the credentials never change after the first start, but the base URL
// (authPath, apiPath) and the development CA (caFile) can, and a file that
// still named the old ones would send a user to the wrong place.
func updateBootstrapFile(path string, set []bootstrapMember) error {
	b, err := os.ReadFile(path)
	if err != nil {
		return err
	}
	type field struct {
		key string
		val json.RawMessage
	}
	var fields []field
	dec := json.NewDecoder(bytes.NewReader(b))
	if t, err := dec.Token(); err != nil || t != json.Delim('{') {
		return errors.New("not a JSON object")
	}
	for dec.More() {
		t, err := dec.Token()
		if err != nil {
			return err
		}
		var f field
		f.key, _ = t.(string)
		if err := dec.Decode(&f.val); err != nil {
			return err
		}
		fields = append(fields, f)
	}
	if _, err := dec.Token(); err != nil {
		return err
	}
	changed := false
	for _, m := range set {
		want := mustJSONBytes(m.value)
		found := false
		for i, f := range fields {
			if f.key != m.key {
				continue
			}
			found = true
			var have string
			if json.Unmarshal(f.val, &have) != nil || have != m.value {
				fields[i].val, changed = want, true
			}
		}
		if !found {
			fields, changed = append(fields, field{m.key, want}), true
		}
	}
	if !changed {
		return nil
	}
	var obj bytes.Buffer
	obj.WriteByte('{')
	for i, f := range fields {
		if i > 0 {
			obj.WriteByte(',')
		}
		obj.Write(mustJSONBytes(f.key))
		obj.WriteByte(':')
		obj.Write(f.val)
	}
	obj.WriteByte('}')
	var out bytes.Buffer
	if err := json.Indent(&out, obj.Bytes(), "", "  "); err != nil {
		return err
	}
	out.WriteByte('\n')
	return replaceFile(path, out.Bytes())
}

// bootstrapMember is one member updateBootstrapFile keeps current.
type bootstrapMember struct{ key, value string }

// replaceFile writes path in one rename, mode 0600. The temporary file is
// one this call creates (never an existing file or a link someone left at a
// name known in advance, which would receive the credentials), beside path
// so that the rename stays on one file system.
func replaceFile(path string, b []byte) error {
	f, err := os.CreateTemp(filepath.Dir(path), "."+filepath.Base(path)+".*.tmp")
	if err != nil {
		return err
	}
	tmp := f.Name()
	if err = f.Chmod(0o600); err == nil {
		if _, err = f.Write(b); err == nil {
			err = f.Sync()
		}
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		err = os.Rename(tmp, path)
	}
	if err != nil {
		os.Remove(tmp)
	}
	return err
}
