package keys

import (
	"crypto/x509/pkix"
	"encoding/pem"
	"errors"
	"strings"
	"time"

	"github.com/gatehouse-id/gatehouse/internal/store"
)

// ErrBadDN is returned by ParseDN for a distinguished name it cannot read.
var ErrBadDN = errors.New("keys: invalid distinguished name")

// ParseDN reads a subject DN as PingOne's certificate API takes it:
// comma-separated KEY=value pairs with keys CN, OU, O, L, ST, C and E (e.g.
// "CN=x, OU=Ping, O=Ping, L=, ST=, C=US"). Empty values are dropped, as
// PingOne's console sends them. A backslash escapes a comma inside a value.
func ParseDN(dn string) (pkix.Name, error) {
	var n pkix.Name
	seen := false
	for _, part := range splitDN(dn) {
		k, v, ok := strings.Cut(part, "=")
		if !ok {
			return n, ErrBadDN
		}
		k, v = strings.ToUpper(strings.TrimSpace(k)), strings.TrimSpace(v)
		if v == "" {
			if _, known := dnKeys[k]; !known {
				return n, ErrBadDN
			}
			continue
		}
		switch k {
		case "CN":
			if n.CommonName != "" {
				return n, ErrBadDN
			}
			n.CommonName = v
		case "OU":
			n.OrganizationalUnit = append(n.OrganizationalUnit, v)
		case "O":
			n.Organization = append(n.Organization, v)
		case "L":
			n.Locality = append(n.Locality, v)
		case "ST":
			n.Province = append(n.Province, v)
		case "C":
			if len(v) != 2 {
				return n, ErrBadDN
			}
			n.Country = append(n.Country, strings.ToUpper(v))
		case "E":
			// Kept as the emailAddress attribute, which pkix.Name has no
			// field for.
			n.ExtraNames = append(n.ExtraNames, pkix.AttributeTypeAndValue{Type: oidEmail, Value: v})
		default:
			return n, ErrBadDN
		}
		seen = true
	}
	if !seen {
		return n, ErrBadDN
	}
	return n, nil
}

var dnKeys = map[string]struct{}{"CN": {}, "OU": {}, "O": {}, "L": {}, "ST": {}, "C": {}, "E": {}}

var oidEmail = []int{1, 2, 840, 113549, 1, 9, 1}

func splitDN(dn string) []string {
	var parts []string
	var cur strings.Builder
	for i := 0; i < len(dn); i++ {
		switch {
		case dn[i] == '\\' && i+1 < len(dn):
			i++
			cur.WriteByte(dn[i])
		case dn[i] == ',':
			parts = append(parts, cur.String())
			cur.Reset()
		default:
			cur.WriteByte(dn[i])
		}
	}
	return append(parts, cur.String())
}

// CertificatePEM is k's certificate as PEM, what PingOne answers for
// Accept: application/x-x509-ca-cert.
func CertificatePEM(k *store.Key) []byte {
	return pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: k.Certificate})
}

// Status is the certificate's state at now, in PingOne's words.
func Status(k *store.Key, now time.Time) string {
	switch {
	case now.Before(k.StartsAt):
		return "NOT_YET_VALID"
	case !now.Before(k.ExpiresAt):
		return "EXPIRED"
	}
	return "VALID"
}
