package mapping

import (
	"reflect"
	"strings"
	"testing"
	"time"
)

var data = &Data{
	User: map[string]any{
		"id": "u-1", "email": "grace@example.com", "username": "grace", "title": "",
		"name":       map[string]any{"given": "Grace", "family": "Hopper", "full-name": "Grace B. Hopper"},
		"address":    map[string]any{"locality": "Arlington", "countryCode": "US"},
		"population": map[string]any{"id": "p-1"},
		"enabled":    true,
		"updatedAt":  time.Date(2024, 1, 2, 3, 4, 5, 0, time.UTC),
		"createdAt":  "2021-01-01T00:00:00Z",
		"groups":     []any{"a", "b"},
	},
	Client: map[string]any{"id": "c-1", "name": "Shop"},
}

func TestEval(t *testing.T) {
	for _, tc := range []struct {
		value string
		want  any // nil: yields nothing
		roots Roots
	}{
		{"literal text", "literal text", 0},
		{"${user.email}", "grace@example.com", RootUser},
		{"${ user.name.given }", "Grace", RootUser},
		{"${user.address.countryCode}", "US", RootUser},
		{"${user.population.id}", "p-1", RootUser},
		{"${user['name']['full-name']}", "Grace B. Hopper", RootUser},
		{"${user.enabled}", true, RootUser},
		{"${user.groups}", []any{"a", "b"}, RootUser},
		{"${user.updatedAt}", "2024-01-02T03:04:05.000Z", RootUser},
		{"${user.title}", nil, RootUser},
		{"${user.nothing}", nil, RootUser},
		{"${user.name.given.deeper}", nil, RootUser},
		{"Hello ${user.name.given} ${user.name.family}!", "Hello Grace Hopper!", RootUser},
		{"Hello ${user.nothing}", nil, RootUser},
		{"${user.name.given + ' ' + user.name.family}", "Grace Hopper", RootUser},
		{`${"Dr " + user.name.family}`, "Dr Hopper", RootUser},
		{"${'It''s ' + user.username}", "It's grace", RootUser},
		{"${#string.upperCase(user.name.family)}", "HOPPER", RootUser},
		{"${#string.lowerCase(user.name.family)}", "hopper", RootUser},
		{"${#string.trim('  x ')}", "x", 0},
		{"${#string.substring(user.name.given, 0, 1) + #string.substring(user.name.family, 0, 4)}", "GHopp", RootUser},
		{"${#string.substring(user.name.family, -3)}", "per", RootUser},
		{"${#string.substring(user.name.family, 4, 2)}", nil, RootUser},
		{"${#string.isNotEmpty(user.title)}", false, RootUser},
		{"${#string.isNotBlank(user.email)}", true, RootUser},
		{"${#datetime.toUnixTimestamp(user.updatedAt)}", int64(1704164645), RootUser},
		{"${#datetime.toUnixTimestamp(user.createdAt)}", int64(1609459200), RootUser},
		{"${#datetime.toUnixTimestamp(user.nothing)}", nil, RootUser},
		{"${user.email.toUpperCase()}", "GRACE@EXAMPLE.COM", RootUser},
		{"${user.email.substring(0, 5)}", "grace", RootUser},
		{"${user.title.isEmpty() ? 'none' : user.title}", "none", RootUser},
		{"${user.title ?: 'Unknown'}", "Unknown", RootUser},
		{"${user.username == 'grace' ? 'admin' : 'user'}", "admin", RootUser},
		{"${user.username != 'grace' and user.enabled}", false, RootUser},
		{"${!user.enabled || true}", true, RootUser},
		{"${client.id}", "c-1", RootClient},
		{"${application.name + '/' + client.id}", "Shop/c-1", RootClient},
		{"${#root.user.email}", "grace@example.com", RootUser},
		{"${user.enabled == true}", true, RootUser},
		{"${user.name == user.name}", false, RootUser},
		{"${user.nothing == null}", true, RootUser},
		{"${#string.substring(user.email, 0, 5).length() == 5}", true, RootUser},
		{"${1}", int64(1), 0},
		{"${true}", true, 0},
		{"${null}", nil, 0},
	} {
		e, err := Compile(tc.value)
		if err != nil {
			t.Errorf("Compile(%q): %v", tc.value, err)
			continue
		}
		got, ok := e.Eval(data)
		if tc.want == nil {
			if ok {
				t.Errorf("%q = %#v, want nothing", tc.value, got)
			}
		} else if !ok || !reflect.DeepEqual(got, tc.want) {
			t.Errorf("%q = %#v (%v), want %#v", tc.value, got, ok, tc.want)
		}
		if e.Roots() != tc.roots {
			t.Errorf("%q roots = %b, want %b", tc.value, e.Roots(), tc.roots)
		}
	}
}

// TestEvalWithoutUser: a client token has no user; user paths yield nothing.
func TestEvalWithoutUser(t *testing.T) {
	e, err := Compile("${user.email ?: client.id}")
	if err != nil {
		t.Fatal(err)
	}
	if got, ok := e.Eval(&Data{Client: data.Client}); !ok || got != "c-1" {
		t.Errorf("got %v %v", got, ok)
	}
}

func TestCompileRefuses(t *testing.T) {
	for _, tc := range []struct{ value, msg string }{
		{"${user.email", "The expression is not closed with }."},
		{"${}", "The expression ${} is empty."},
		{"${ }", "The expression ${} is empty."},
		{"${1+1}", "Arithmetic is not supported: + concatenates strings."},
		{"${session.id}", "Unknown attribute source session: expressions reference user, client or application."},
		{"${providerAttributes.email}", "Unknown attribute source providerAttributes: expressions reference user, client or application."},
		{"${#string.reverse(user.email)}", "The function #string.reverse is not supported."},
		{"${#crypto.sha256(user.email)}", "The function #crypto.sha256 is not supported."},
		{"${#string.upperCase}", "#string.upperCase is a function: call it with (…)."},
		{"${#string.upperCase(user.email, 1)}", "#string.upperCase takes 1 argument."},
		{"${#string.substring(user.email)}", "#string.substring takes 2 or 3 arguments."},
		{"${user.email.getClass()}", "The method getClass() is not supported."},
		{"${T(java.lang.Runtime).getRuntime()}", "Unknown attribute source T: expressions reference user, client or application."},
		{"${client.secret}", "The client has no attribute secret: use id or name."},
		{"${#root.context.requestData.thing}", "Gatehouse does not evaluate the request context (#root.context): map user, client or application attributes."},
		{"${user.a - 1}", `Unexpected "- 1" at position 8 of the expression.`},
		{"${-user.a}", "Arithmetic is not supported: - only makes negative numbers."},
		{"${#this}", "The variable #this is not supported."},
		{"${'open}", "A string literal is not closed."},
		{"${user.a ? 'x'}", "The conditional expression lacks its ':' part."},
		{"${user.a user.b}", `Unexpected "user.b" at position 8 of the expression.`},
		{"${(user.a}", "A parenthesis is not closed."},
		{"${user.groups.![#this]}", "A property name is expected at position 13 of the expression."},
		{"${" + strings.Repeat("(", 40) + "1" + strings.Repeat(")", 40) + "}", "The expression is nested too deeply."},
		{"${" + strings.Repeat("user.a + ", 300) + "'x'}", "The expression is too complex."},
		{strings.Repeat("x", MaxLength+1), "The expression is longer than 4096 characters."},
	} {
		_, err := Compile(tc.value)
		if err == nil {
			t.Errorf("Compile(%.40q) succeeded, want %q", tc.value, tc.msg)
			continue
		}
		if err.Error() != tc.msg {
			t.Errorf("Compile(%.40q) = %q, want %q", tc.value, err, tc.msg)
		}
	}
}

// FuzzCompile: no input panics, and what compiles evaluates.
func FuzzCompile(f *testing.F) {
	for _, s := range []string{"${user.email}", "a ${#string.substring(user.x, -1, 2)} b", "${user.a ?: 'b' + client.id}", "${(!user.a)}", "${user[user.a]}"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		e, err := Compile(s)
		if err != nil {
			return
		}
		e.Eval(data)
		e.Eval(&Data{})
	})
}
