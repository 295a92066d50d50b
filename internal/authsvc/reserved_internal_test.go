package authsvc

import (
	"reflect"
	"strings"
	"testing"

	"github.com/gatehouse-id/gatehouse/internal/accesstoken"
)

// TestFixedClaimsReserved: every claim an access token sets itself is a
// name no mapping may use, so withClaims never writes a member twice and
// a mapping never forges one (act above all).
func TestFixedClaimsReserved(t *testing.T) {
	typ := reflect.TypeOf(accesstoken.Claims{})
	for i := range typ.NumField() {
		name, _, _ := strings.Cut(typ.Field(i).Tag.Get("json"), ",")
		if name == "" || name == "-" {
			continue
		}
		if !reserved(name) {
			t.Errorf("access token claim %s is not reserved: a mapping could set it too", name)
		}
	}
	for _, name := range []string{"act", "may_act", "cnf", "c_hash", "nonce", "NONCE", "p1.region"} {
		if !reserved(name) {
			t.Errorf("%s is not reserved", name)
		}
	}
	for _, name := range []string{"department", "actor", "email", "given_name"} {
		if reserved(name) {
			t.Errorf("%s is reserved", name)
		}
	}
}
