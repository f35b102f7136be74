package broker

import (
	"crypto/rsa"
	"crypto/tls"
	"crypto/x509"
	"encoding/pem"
	"errors"
	"fmt"
	"math"
	"net"
	"os"
	"strings"
	"time"

	"github.com/golang-jwt/jwt/v5"

	"github.com/meshc/meshc/broker/internal/wire"
)

// The auth_method_names of Pulsar's token and TLS authentication.
const (
	tokenAuthMethod = "token"
	tlsAuthMethod   = "tls"
)

// security is what the broker checks clients with beyond token keys.
type security struct {
	clientCAs *x509.CertPool // CAs of client certificates; nil: no TLS authentication
	authz     *authorizer    // nil: no authorization
	adminTLS  net.Listener   // the HTTPS admin listener; nil without one
}

// refuseWriteTimeout bounds the write of the error that refuses a
// connection, so a client that does not read cannot hold it open.
const refuseWriteTimeout = 5 * time.Second

// Why a CONNECT was refused; each is the start of the message the client
// gets with ServerError AuthenticationError.
var (
	errAuthentication = errors.New("authentication failed")
	errNoToken        = errors.New("no token")
	errTokenMalformed = errors.New("malformed token")
	errTokenSignature = errors.New("token signature is invalid")
	errTokenExpired   = errors.New("token expired")
	errTokenNoRole    = errors.New("token has no sub claim")
	errNoCredentials  = errors.New("no credentials")
	errNoClientCert   = errors.New("no client certificate")
	errCertUntrusted  = errors.New("client certificate is not trusted")
	errCertNoRole     = errors.New("client certificate has no subject CN")
)

// tokenVerifier checks JWTs as Pulsar's AuthenticationProviderToken does:
// HMAC tokens against the secret key, RSA tokens against the public key.
type tokenVerifier struct {
	secret []byte
	public *rsa.PublicKey
	parser *jwt.Parser
}

// loadTokenVerifier reads the key files; either may be empty, not both.
func loadTokenVerifier(secretFile, publicFile string) (*tokenVerifier, error) {
	v := &tokenVerifier{}
	var methods []string
	if secretFile != "" {
		b, err := os.ReadFile(secretFile)
		if err != nil {
			return nil, fmt.Errorf("read token secret key: %w; give a readable file with the raw HS256 key", err)
		}
		if len(b) == 0 {
			return nil, fmt.Errorf("token secret key %s is empty; give the raw HS256 key the tokens are signed with", secretFile)
		}
		v.secret = b
		methods = append(methods, "HS256", "HS384", "HS512")
	}
	if publicFile != "" {
		k, err := readRSAPublicKey(publicFile)
		if err != nil {
			return nil, err
		}
		v.public = k
		methods = append(methods, "RS256", "RS384", "RS512")
	}
	v.parser = jwt.NewParser(jwt.WithValidMethods(methods))
	return v, nil
}

// readRSAPublicKey reads a PEM or DER (Pulsar's default) PKIX public key.
func readRSAPublicKey(path string) (*rsa.PublicKey, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("read token public key: %w; give a readable PEM or DER RSA public key", err)
	}
	if block, _ := pem.Decode(b); block != nil {
		b = block.Bytes
	}
	k, err := x509.ParsePKIXPublicKey(b)
	if err != nil {
		return nil, fmt.Errorf("token public key %s: %w; give a PEM or DER RSA public key (PKIX)", path, err)
	}
	rk, ok := k.(*rsa.PublicKey)
	if !ok {
		return nil, fmt.Errorf("token public key %s is a %T, not an RSA key; give the RS256 public key", path, k)
	}
	return rk, nil
}

// verify checks token's signature and expiry and returns its role.
func (v *tokenVerifier) verify(token string) (string, error) {
	if token == "" {
		return "", errNoToken
	}
	var claims jwt.RegisteredClaims
	_, err := v.parser.ParseWithClaims(token, &claims, v.key)
	switch {
	case errors.Is(err, jwt.ErrTokenMalformed):
		return "", fmt.Errorf("%w: %w", errTokenMalformed, err)
	case errors.Is(err, jwt.ErrTokenExpired):
		return "", fmt.Errorf("%w at %s; issue a new one", errTokenExpired, claims.ExpiresAt.UTC().Format(time.RFC3339))
	case errors.Is(err, jwt.ErrTokenSignatureInvalid):
		return "", fmt.Errorf("%w: it was not signed with the broker's key", errTokenSignature)
	case err != nil:
		return "", err
	case claims.Subject == "":
		return "", fmt.Errorf("%w: sign the token with the client's role as its subject", errTokenNoRole)
	}
	return claims.Subject, nil
}

// key picks the verification key for the token's algorithm; the parser has
// already refused algorithms without a key.
func (v *tokenVerifier) key(t *jwt.Token) (any, error) {
	switch t.Method.(type) {
	case *jwt.SigningMethodHMAC:
		return v.secret, nil
	case *jwt.SigningMethodRSA:
		return v.public, nil
	}
	return nil, fmt.Errorf("signing method %s is not accepted", t.Method.Alg())
}

// authenticate checks the credentials of a CONNECT and keeps the role; with
// authentication disabled every client is let in, as in Pulsar. The
// client's auth method picks how it is checked.
func (c *conn) authenticate(cmd *wire.CommandConnect) error {
	if !c.b.cfg.AuthenticationEnabled {
		return nil
	}
	var role string
	var err error
	switch m := cmd.GetAuthMethodName(); {
	case m == tokenAuthMethod && c.b.tokens != nil:
		role, err = c.b.tokens.verify(string(cmd.GetAuthData()))
	case m == tlsAuthMethod && c.b.sec.clientCAs != nil:
		role, err = c.certificateRole()
	case m == "" || m == "none":
		err = c.b.noCredentials()
	default:
		err = fmt.Errorf("auth method %q is not supported; use %s", m, strings.Join(c.b.authMethods(), " or "))
	}
	if err != nil {
		return fmt.Errorf("%w: %w", errAuthentication, err)
	}
	c.role = role
	return nil
}

// authMethods names the auth methods clients may use.
func (b *Broker) authMethods() []string {
	var out []string
	if b.tokens != nil {
		out = append(out, tokenAuthMethod)
	}
	if b.sec.clientCAs != nil {
		out = append(out, tlsAuthMethod)
	}
	return out
}

// noCredentials says what a client that sent none must give.
func (b *Broker) noCredentials() error {
	switch {
	case b.sec.clientCAs == nil:
		return fmt.Errorf("%w: the broker requires token authentication; give the client a token", errNoToken)
	case b.tokens == nil:
		return fmt.Errorf("%w: the broker requires TLS authentication; give the client a certificate (auth method tls) and %s",
			errNoCredentials, b.tlsHint())
	}
	return fmt.Errorf("%w: the broker requires token or TLS authentication; give the client a token or a certificate", errNoCredentials)
}

// tlsHint says where a client presents its certificate.
func (b *Broker) tlsHint() string {
	if u := b.TLSURL(); u != "" {
		return "connect to " + u
	}
	return "the broker has no TLS protocol listener (only its HTTPS admin endpoint takes certificates)"
}

// certificateRole authenticates a client by the certificate it presented
// in the TLS handshake.
func (c *conn) certificateRole() (string, error) {
	tc, ok := c.nc.(*tls.Conn)
	if !ok {
		return "", fmt.Errorf("%w: auth method tls works on the TLS listener only; %s", errNoClientCert, c.b.tlsHint())
	}
	return verifyClientCert(c.b.sec.clientCAs, tc.ConnectionState().PeerCertificates)
}

// verifyClientCert checks that chain (leaf first, as the client sent it)
// leads to one of roots and returns the leaf's subject CN, the role, as
// Pulsar's AuthenticationProviderTls does.
func verifyClientCert(roots *x509.CertPool, chain []*x509.Certificate) (string, error) {
	if len(chain) == 0 {
		return "", fmt.Errorf("%w: give the client a certificate signed by a CA the broker trusts", errNoClientCert)
	}
	leaf, intermediates := chain[0], x509.NewCertPool()
	for _, ic := range chain[1:] {
		intermediates.AddCert(ic)
	}
	_, err := leaf.Verify(x509.VerifyOptions{Roots: roots, Intermediates: intermediates,
		KeyUsages: []x509.ExtKeyUsage{x509.ExtKeyUsageClientAuth}})
	if err != nil {
		return "", fmt.Errorf("%w: %s: %w; give the client a current client certificate signed by a CA in the broker's trust file",
			errCertUntrusted, leaf.Subject.String(), err)
	}
	if leaf.Subject.CommonName == "" {
		return "", fmt.Errorf("%w: its CN is the client's role; issue it with one", errCertNoRole)
	}
	return leaf.Subject.CommonName, nil
}

// refuse answers a CONNECT with an AuthenticationError and returns err so
// the read loop closes the connection.
func (c *conn) refuse(err error) error {
	writeRefusal(c.nc, wire.ServerError_AuthenticationError, err)
	return err
}

// writeRefusal writes a CommandError straight to nc, outside the write
// loop: nothing else is queued before CONNECT, and shutdown drops the
// queue, so a queued reply would never be sent.
func writeRefusal(nc net.Conn, code wire.ServerError, err error) {
	msg := err.Error()
	requestID := uint64(math.MaxUint64) // Pulsar's -1: no request to answer
	buf, aerr := wire.AppendCommand(nil, &wire.BaseCommand{Type: wire.BaseCommand_ERROR.Enum(),
		Error: &wire.CommandError{RequestId: &requestID, Error: code.Enum(), Message: &msg}})
	if aerr == nil {
		nc.SetWriteDeadline(time.Now().Add(refuseWriteTimeout))
		nc.Write(buf)
	}
}
