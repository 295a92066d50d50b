package httpx

import (
	"crypto/sha256"
	"encoding/base64"
	"html/template"
	"net/http"
	"net/url"
)

// formPostScript submits the form; it is allowed by its hash, so the page
// keeps a Content-Security-Policy without inline scripts in general.
const formPostScript = `document.forms[0].submit();`

var formPostCSP = func() string {
	h := sha256.Sum256([]byte(formPostScript))
	return "default-src 'none'; script-src 'sha256-" + base64.StdEncoding.EncodeToString(h[:]) + "'; form-action *; frame-ancestors 'none'"
}()

var formPostTmpl = template.Must(template.New("form_post").Parse(`<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>Continue</title></head>
<body><form method="post" action="{{.Action}}">{{range $k, $v := .Params}}<input type="hidden" name="{{$k}}" value="{{index $v 0}}">{{end}}
<noscript><button type="submit">Continue</button></noscript></form><script>` + formPostScript + `</script></body></html>
`))

// FormPost answers with a page that makes the browser POST params (the
// first value of each) to action at once: OAuth's form_post response
// mode, and SAML's HTTP-POST binding (SAMLRequest or SAMLResponse with
// RelayState). action must be a URL the caller has checked.
func FormPost(w http.ResponseWriter, action string, params url.Values) {
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.Header().Set("Content-Security-Policy", formPostCSP)
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(http.StatusOK)
	formPostTmpl.Execute(w, struct {
		Action template.URL
		Params url.Values
	}{template.URL(action), params})
}
