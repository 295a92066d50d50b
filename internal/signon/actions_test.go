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
		{"text/html", `<p onclick="x()">a</p>`, `<div class="agreement-text">&lt;p onclick=&#34;x()&#34;&gt;a&lt;/p&gt;</div>`},
		{"text/html", `<a href="javascript:x()">a</a>`, `<div class="agreement-text">&lt;a href=&#34;javascript:x()&#34;&gt;a&lt;/a&gt;</div>`},
		{"text/html", `<img src=x onerror=x()>`, `<div class="agreement-text">&lt;img src=x onerror=x()&gt;</div>`},
		{"text/html", `<style>*{}</style><b >x</b >`, `<div class="agreement-text">&lt;style&gt;*{}&lt;/style&gt;<b>x</b></div>`},
		// Unclosed tags are closed inside the text, and a closing tag
		// that opened nothing stays text: an agreement's markup never
		// reaches the page's own (an open <b> would embolden the buttons
		// after it, an open <ul> swallow them).
		{"text/html", `<b>bold <i>both`, `<div class="agreement-text"><b>bold <i>both</i></b></div>`},
		{"text/html", `<ul><li>one`, `<div class="agreement-text"><ul><li>one</li></ul></div>`},
		{"text/html", `<b><i>x</b> y</i>`, `<div class="agreement-text"><b><i>x</i></b> y&lt;/i&gt;</div>`},
		{"text/html", `a</strong></p><br></br>`, `<div class="agreement-text">a&lt;/strong&gt;&lt;/p&gt;<br>&lt;/br&gt;</div>`},
		{"text/plain", "<b>bold?</b>\nline", `<div class="agreement-text plain">&lt;b&gt;bold?&lt;/b&gt;` + "\n" + `line</div>`},
	} {
		if got := string(agreementHTML(c.contentType, c.text)); got != c.want {
			t.Errorf("%s %q:\n got %s\nwant %s", c.contentType, c.text, got, c.want)
		}
	}
}
