package httpx

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"fmt"
	"log/slog"
	"os"
	"sync"
	"sync/atomic"
	"time"
)

// Certificates is the server's certificate and key, read from two PEM files
// and replaced without a restart: Reload (on SIGHUP) or Watch (when the
// files change) swap in a new pair, and handshakes pick it up through
// GetCertificate. A pair that does not load leaves the current one in place,
// so a half-copied renewal never takes the server down.
type Certificates struct {
	certFile, keyFile string
	cur               atomic.Pointer[tls.Certificate]

	mu   sync.Mutex // serialises reloads
	seen [2]fileStamp
}

// fileStamp tells one version of a file from another without reading it.
// File times are coarse, so the time alone is not enough: a file rewritten
// in place can keep the time it had half written (its size tells), and a
// renewal that puts other files in place within the same tick, with the
// same sizes, is told by the files' identity.
type fileStamp struct {
	mod  time.Time
	size int64
	fi   os.FileInfo // nil: the file cannot be read now
}

func (a fileStamp) same(b fileStamp) bool {
	if a.fi == nil || b.fi == nil {
		return a.fi == nil && b.fi == nil
	}
	return a.mod.Equal(b.mod) && a.size == b.size && os.SameFile(a.fi, b.fi)
}

// LoadCertificates reads the pair; a start with a pair that does not load
// fails.
func LoadCertificates(certFile, keyFile string) (*Certificates, error) {
	c := &Certificates{certFile: certFile, keyFile: keyFile}
	c.seen = c.stamps()
	if err := c.Reload(); err != nil {
		return nil, err
	}
	return c, nil
}

// Reload reads the files again. On error the current pair stays.
func (c *Certificates) Reload() error {
	c.mu.Lock()
	defer c.mu.Unlock()
	pair, err := tls.LoadX509KeyPair(c.certFile, c.keyFile)
	if err != nil {
		return fmt.Errorf("TLS certificate %s, key %s: %w", c.certFile, c.keyFile, err)
	}
	if pair.Leaf == nil {
		if pair.Leaf, err = x509.ParseCertificate(pair.Certificate[0]); err != nil {
			return fmt.Errorf("TLS certificate %s: %w", c.certFile, err)
		}
	}
	c.cur.Store(&pair)
	return nil
}

// Leaf is the certificate being served.
func (c *Certificates) Leaf() *x509.Certificate { return c.cur.Load().Leaf }

// GetCertificate is tls.Config.GetCertificate.
func (c *Certificates) GetCertificate(*tls.ClientHelloInfo) (*tls.Certificate, error) {
	return c.cur.Load(), nil
}

// Config is the TLS configuration of the listener.
func (c *Certificates) Config() *tls.Config {
	return &tls.Config{MinVersion: tls.VersionTLS12, GetCertificate: c.GetCertificate}
}

// stamps are the files' stamps; zero for a file that cannot be read now (a
// renewal may be replacing it).
func (c *Certificates) stamps() [2]fileStamp {
	var s [2]fileStamp
	for i, f := range []string{c.certFile, c.keyFile} {
		if st, err := os.Stat(f); err == nil {
			s[i] = fileStamp{st.ModTime(), st.Size(), st}
		}
	}
	return s
}

// Watch reloads the pair whenever either file changes (its modification
// time, size or identity), checking every interval until ctx ends. A pair
// that fails to load is logged once and tried again on the files' next
// change: a renewal that writes the certificate before the key loads once
// both are written. Stat follows links, so a renewal that swaps a linked
// directory (a Kubernetes secret volume) is seen too.
func (c *Certificates) Watch(ctx context.Context, every time.Duration, log *slog.Logger) {
	t := time.NewTicker(every)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
		now := c.stamps()
		if (now[0].same(c.seen[0]) && now[1].same(c.seen[1])) || now[0].fi == nil || now[1].fi == nil {
			continue
		}
		c.seen = now
		c.ReloadLogged(log, "the files changed")
	}
}

// ReloadLogged reloads and logs the outcome, saying why it reloaded.
func (c *Certificates) ReloadLogged(log *slog.Logger, why string) error {
	err := c.Reload()
	if err != nil {
		log.Error("TLS certificate not reloaded ("+why+"); still serving the previous one", "err", err,
			"serial", c.Leaf().SerialNumber.Text(16))
		return err
	}
	leaf := c.Leaf()
	log.Info("TLS certificate reloaded ("+why+")", "serial", leaf.SerialNumber.Text(16),
		"notAfter", leaf.NotAfter.UTC().Format(time.RFC3339))
	return nil
}
