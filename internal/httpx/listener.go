package httpx

import (
	"errors"
	"io"
	"net"
	"sync"
	"time"
)

// tlsRecordHandshake is the first byte a TLS client sends.
const tlsRecordHandshake = 0x16

// split shares one listening socket between a TLS server and a plain HTTP
// one: it reads the first byte of each connection (a TLS handshake starts
// with 0x16) and hands the connection to the server that speaks it. A
// CONNECT tunnel's connection joins the TLS side through Tunnel, so that
// the TLS server serves it like any other.
type split struct {
	ln          net.Listener
	peekTimeout time.Duration
	tls, plain  chanListener

	once sync.Once
	done chan struct{}
	err  error // why accepting stopped; set before done is closed
}

func newSplit(ln net.Listener, peekTimeout time.Duration) *split {
	s := &split{ln: ln, peekTimeout: peekTimeout, done: make(chan struct{})}
	s.tls = chanListener{s: s, ch: make(chan net.Conn)}
	s.plain = chanListener{s: s, ch: make(chan net.Conn)}
	return s
}

// run accepts until the listener is closed.
func (s *split) run() {
	var backoff time.Duration
	for {
		c, err := s.ln.Accept()
		if err != nil {
			var te interface{ Temporary() bool }
			if errors.As(err, &te) && te.Temporary() {
				// Out of file descriptors and the like: wait as net/http
				// does, rather than spin or give up.
				backoff = min(max(2*backoff, 5*time.Millisecond), time.Second)
				select {
				case <-time.After(backoff):
					continue
				case <-s.done:
					return
				}
			}
			s.close(err)
			return
		}
		backoff = 0
		go s.route(c)
	}
}

// route peeks at the first byte under a deadline: a client that connects
// and sends nothing holds a goroutine for peekTimeout at most.
func (s *split) route(c net.Conn) {
	c.SetReadDeadline(time.Now().Add(s.peekTimeout))
	var b [1]byte
	if _, err := io.ReadFull(c, b[:]); err != nil {
		c.Close()
		return
	}
	c.SetReadDeadline(time.Time{})
	pc := &prefixConn{Conn: c, prefix: b[:]}
	if b[0] == tlsRecordHandshake {
		s.tls.deliver(pc)
	} else {
		s.plain.deliver(pc)
	}
}

// Tunnel hands a connection whose client speaks TLS next to the TLS
// server.
func (s *split) Tunnel(c net.Conn) error {
	if !s.tls.deliver(c) {
		return net.ErrClosed
	}
	return nil
}

func (s *split) close(err error) {
	s.once.Do(func() {
		s.err = err
		close(s.done)
		s.ln.Close()
	})
}

// chanListener is one side of a split: the server on that side accepts
// from it. Closing either side closes the socket, which both servers'
// shutdowns do.
type chanListener struct {
	s  *split
	ch chan net.Conn
}

func (l *chanListener) deliver(c net.Conn) bool {
	select {
	case l.ch <- c:
		return true
	case <-l.s.done:
		c.Close()
		return false
	}
}

func (l *chanListener) Accept() (net.Conn, error) {
	select {
	case c := <-l.ch:
		return c, nil
	case <-l.s.done:
		return nil, l.s.err
	}
}

func (l *chanListener) Close() error {
	l.s.close(net.ErrClosed)
	return nil
}

func (l *chanListener) Addr() net.Addr { return l.s.ln.Addr() }

// prefixConn gives back bytes already read from a connection before the
// rest of it.
type prefixConn struct {
	net.Conn
	prefix []byte
}

func (c *prefixConn) Read(p []byte) (int, error) {
	if len(c.prefix) > 0 {
		n := copy(p, c.prefix)
		c.prefix = c.prefix[n:]
		return n, nil
	}
	return c.Conn.Read(p)
}
