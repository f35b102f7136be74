package broker

import (
	"bufio"
	"context"
	"crypto/tls"
	"crypto/x509"
	"fmt"
	"net"
	"os"
	"time"

	"github.com/meshc/meshc/broker/internal/wire"
)

// tlsHandshakeTimeout bounds the TLS handshake, so a client that connects
// to the TLS listener and sends nothing (or plain Pulsar) does not hold a
// connection open.
const tlsHandshakeTimeout = 10 * time.Second

// tlsRecordHandshake is the first byte of a TLS ClientHello. A Pulsar
// frame starts with its big-endian length, whose first byte is 0 for any
// frame the broker accepts, so one byte tells a plain client apart.
const tlsRecordHandshake = 0x16

// peekConn lets the TLS listener look at a connection's first byte before
// the TLS server reads it.
type peekConn struct {
	net.Conn
	r *bufio.Reader
}

func newPeekConn(nc net.Conn) *peekConn { return &peekConn{Conn: nc, r: bufio.NewReader(nc)} }

func (p *peekConn) Read(b []byte) (int, error) { return p.r.Read(b) }

// loadSecurity reads the TLS certificate, the trusted CAs and the token
// keys, so a bad file stops Start before anything listens.
func (b *Broker) loadSecurity() error {
	if err := b.loadTLS(); err != nil {
		return err
	}
	if !b.cfg.AuthenticationEnabled {
		return nil
	}
	if b.cfg.AuthTokenSecretKeyFile != "" || b.cfg.AuthTokenPublicKeyFile != "" {
		v, err := loadTokenVerifier(b.cfg.AuthTokenSecretKeyFile, b.cfg.AuthTokenPublicKeyFile)
		if err != nil {
			return err
		}
		b.tokens = v
	}
	if b.cfg.AuthorizationEnabled {
		b.sec.authz = newAuthorizer(b.cfg)
	}
	b.log.Info("security", "auth_methods", b.authMethods(), "authorization", b.cfg.AuthorizationEnabled)
	return nil
}

// loadTLS reads the certificate the TLS listeners serve and, for TLS
// authentication, the CAs client certificates must chain to.
func (b *Broker) loadTLS() error {
	if b.cfg.TLSCertFile == "" {
		return nil
	}
	cert, err := tls.LoadX509KeyPair(b.cfg.TLSCertFile, b.cfg.TLSKeyFile)
	if err != nil {
		return fmt.Errorf("load TLS certificate %s and key %s: %w; give a PEM certificate and its PEM private key",
			b.cfg.TLSCertFile, b.cfg.TLSKeyFile, err)
	}
	b.tlsConf = &tls.Config{Certificates: []tls.Certificate{cert}, MinVersion: tls.VersionTLS12}
	if !b.cfg.AuthTLS {
		return nil
	}
	if b.sec.clientCAs, err = loadTrustCerts(b.cfg.TLSTrustCertsFile); err != nil {
		return err
	}
	// Ask for a certificate without requiring or verifying one in the
	// handshake: authentication verifies it, so that a client without one,
	// or with one from an unknown CA, gets an AuthenticationError naming
	// the cause instead of a bare TLS alert, and token clients need none.
	// ClientCAs stays unset: Go clients would then withhold a certificate
	// from another CA, and the refusal could not say why.
	b.tlsConf.ClientAuth = tls.RequestClientCert
	return nil
}

// loadTrustCerts reads a PEM bundle of CA certificates.
func loadTrustCerts(path string) (*x509.CertPool, error) {
	pemBytes, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("read TLS trust certificates: %w; give a readable PEM file of the CAs that sign client certificates", err)
	}
	pool := x509.NewCertPool()
	if !pool.AppendCertsFromPEM(pemBytes) {
		return nil, fmt.Errorf("TLS trust certificates %s hold no PEM certificate; give the CAs that sign client certificates", path)
	}
	return pool, nil
}

// TLSAddr is the address of the TLS protocol listener; nil without one.
func (b *Broker) TLSAddr() net.Addr {
	if b.tlsLn == nil {
		return nil
	}
	return b.tlsLn.Addr()
}

// TLSURL is the service URL for Pulsar clients over TLS,
// "pulsar+ssl://host:port", or "" without a TLS listener.
func (b *Broker) TLSURL() string {
	if b.tlsLn == nil {
		return ""
	}
	return "pulsar+ssl://" + b.tlsLn.Addr().String()
}

// handshake completes the TLS handshake of a connection on the TLS
// listener before any Pulsar frame is read; a plain connection returns nil.
func (c *conn) handshake() error {
	tc, ok := c.nc.(*tls.Conn)
	if !ok {
		return nil
	}
	ctx, cancel := context.WithTimeout(context.Background(), tlsHandshakeTimeout)
	defer cancel()
	if pc, ok := tc.NetConn().(*peekConn); ok {
		if err := c.refusePlain(pc); err != nil {
			return err
		}
	}
	if err := tc.HandshakeContext(ctx); err != nil {
		return fmt.Errorf("TLS handshake: %w (a client of this listener must use pulsar+ssl:// and trust its certificate)", err)
	}
	return nil
}

// refusePlain answers a client that speaks plain Pulsar to the TLS
// listener with an error it can log, instead of a bare TLS alert.
func (c *conn) refusePlain(pc *peekConn) error {
	pc.SetReadDeadline(time.Now().Add(tlsHandshakeTimeout))
	defer pc.SetReadDeadline(time.Time{})
	first, err := pc.r.Peek(1)
	if err != nil {
		return fmt.Errorf("TLS handshake: %w", err)
	}
	if first[0] == tlsRecordHandshake {
		return nil
	}
	// Read the client's CONNECT first: closing with it unread would reset
	// the connection and lose the error.
	wire.ReadFrame(pc.r, nil, c.b.cfg.maxFrameSize())
	err = fmt.Errorf("this listener serves TLS: connect with pulsar+ssl://%s", pc.LocalAddr())
	writeRefusal(pc, wire.ServerError_NotAllowedError, err)
	return err
}

// serviceURL is the URL by which the client reached this broker: right for
// it wherever it is, even when the broker listens on 0.0.0.0.
func (c *conn) serviceURL() string {
	if c.secure {
		return "pulsar+ssl://" + c.nc.LocalAddr().String()
	}
	return "pulsar://" + c.nc.LocalAddr().String()
}
