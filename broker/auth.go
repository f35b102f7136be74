package broker

import (
	"crypto/rsa"
	"crypto/x509"
	"encoding/pem"
	"errors"
	"fmt"
	"math"
	"net"
	"os"
	"time"

	"github.com/golang-jwt/jwt/v5"

	"github.com/meshc/meshc/broker/internal/wire"
)

// tokenAuthMethod is the auth_method_name of Pulsar's token authentication.
const tokenAuthMethod = "token"

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
// authentication disabled every client is let in, as in Pulsar.
func (c *conn) authenticate(cmd *wire.CommandConnect) error {
	if c.b.tokens == nil {
		return nil
	}
	switch m := cmd.GetAuthMethodName(); m {
	case tokenAuthMethod:
	case "", "none":
		return fmt.Errorf("%w: %w: the broker requires token authentication; give the client a token", errAuthentication, errNoToken)
	default:
		return fmt.Errorf("%w: auth method %q is not supported; use %q", errAuthentication, m, tokenAuthMethod)
	}
	role, err := c.b.tokens.verify(string(cmd.GetAuthData()))
	if err != nil {
		return fmt.Errorf("%w: %w", errAuthentication, err)
	}
	c.role = role
	return nil
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
