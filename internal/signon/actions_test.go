package signon

import "testing"

// TestAgreementHTML: an agreement's text/html keeps its bare structural
// tags and nothing else: attributes, scripts, styles, links and images are
// shown as the text they are; text/plain is all text.
func TestAgreementHTML(t *testing.T) {
	for _, c := range []struct{ contentType, text, want string }{
		{"text/html", `<p>Hi <B>there</b><br/></p>`, `<div class="agreement-text"><p>Hi <b>there</b><br></p></div>`},
		{"text/html", `<ul><li>one</li></ul>`, `<div class="agreement-text"><ul><li>one</li></ul></div>`},
		{"TEXT/HTML ", `<h3>x</h3>`, `<div class="agreement-text"><h3>x</h3></div>`},
		{"text/html", `<script>alert(1)</script>`, `<div class="agreement-text">&lt;script&gt;alert(1)&lt;/script&gt;</div>`},
		{"text/html", `<p onclick="x()">a</p>`, `<div class="agreement-text">&lt;p onclick=&#34;x()&#34;&gt;a</p></div>`},
		{"text/html", `<a href="javascript:x()">a</a>`, `<div class="agreement-text">&lt;a href=&#34;javascript:x()&#34;&gt;a&lt;/a&gt;</div>`},
		{"text/html", `<img src=x onerror=x()>`, `<div class="agreement-text">&lt;img src=x onerror=x()&gt;</div>`},
		{"text/html", `<style>*{}</style><b >x</b >`, `<div class="agreement-text">&lt;style&gt;*{}&lt;/style&gt;<b>x</b></div>`},
		{"text/plain", "<b>bold?</b>\nline", `<div class="agreement-text plain">&lt;b&gt;bold?&lt;/b&gt;` + "\n" + `line</div>`},
	} {
		if got := string(agreementHTML(c.contentType, c.text)); got != c.want {
			t.Errorf("%s %q:\n got %s\nwant %s", c.contentType, c.text, got, c.want)
		}
	}
}
