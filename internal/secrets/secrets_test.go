package secrets_test

import (
	"bytes"
	"errors"
	"os"
	"path/filepath"
	"testing"

	"github.com/gatehouse-id/gatehouse/internal/secrets"
)

func sealer(t *testing.T, b byte) *secrets.Sealer {
	t.Helper()
	s, err := secrets.New(bytes.Repeat([]byte{b}, secrets.KeySize))
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func TestSealOpen(t *testing.T) {
	s, other := sealer(t, 1), sealer(t, 2)
	sealed := s.Seal([]byte("client-secret"), "app:1")
	if bytes.Contains(sealed, []byte("client-secret")) {
		t.Fatal("plaintext visible in the sealed value")
	}
	if again := s.Seal([]byte("client-secret"), "app:1"); bytes.Equal(again, sealed) {
		t.Fatal("two seals of one value are equal: the nonce is not fresh")
	}
	got, err := s.Open(sealed, "app:1")
	if err != nil || string(got) != "client-secret" {
		t.Fatalf("open: %q %v", got, err)
	}
	tampered := append([]byte{}, sealed...)
	tampered[len(tampered)-1] ^= 1
	for name, tc := range map[string]struct {
		s      *secrets.Sealer
		sealed []byte
		aad    string
	}{
		"other row": {s, sealed, "app:2"},
		"other key": {other, sealed, "app:1"},
		"tampered":  {s, tampered, "app:1"},
		"truncated": {s, sealed[:5], "app:1"},
		"empty":     {s, nil, "app:1"},
	} {
		if _, err := tc.s.Open(tc.sealed, tc.aad); !errors.Is(err, secrets.ErrOpen) {
			t.Errorf("%s: err = %v, want ErrOpen", name, err)
		}
	}
}

func TestNewRejectsShortKeys(t *testing.T) {
	if _, err := secrets.New(make([]byte, 16)); err == nil {
		t.Fatal("a 16-byte master key was accepted")
	}
}

func TestKeyFile(t *testing.T) {
	path := filepath.Join(t.TempDir(), "master.key")
	k1, err := secrets.LoadOrCreateKeyFile(path)
	if err != nil || len(k1) != secrets.KeySize {
		t.Fatalf("create: %v %d", err, len(k1))
	}
	st, err := os.Stat(path)
	if err != nil || st.Mode().Perm() != 0o600 {
		t.Fatalf("key file mode %v %v", st.Mode(), err)
	}
	k2, err := secrets.LoadOrCreateKeyFile(path)
	if err != nil || !bytes.Equal(k1, k2) {
		t.Fatal("a second load returned another key")
	}
	for _, bad := range []string{"not base64!", "c2hvcnQ="} {
		if _, err := secrets.ParseKey(bad); err == nil {
			t.Errorf("ParseKey(%q) accepted", bad)
		}
	}
}

func TestEqual(t *testing.T) {
	if !secrets.Equal("abc", "abc") || secrets.Equal("abc", "abd") || secrets.Equal("abc", "ab") {
		t.Fatal("Equal is wrong")
	}
}
