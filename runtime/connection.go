package runtime

import (
	"fmt"
	"os"
	"strings"

	"github.com/apache/pulsar-client-go/pulsar"
)

// Connection says how to reach Pulsar: every client meshc makes, an
// instance's and the tools', is made from one.
type Connection struct {
	URL string
	// TrustCertsFile is the PEM bundle of the CAs a pulsar+ssl:// broker's
	// certificate must chain to; empty trusts the system's. The broker's
	// host name is always verified.
	TrustCertsFile string
	// TokenFile holds the JWT the client authenticates with (Pulsar's
	// token authentication). It is read again for each new connection, so
	// a token rotated in place is taken up without a restart.
	TokenFile string
}

// Environment variables an instance reads its Connection from, besides
// MESHC_PULSAR_URL; deployments fill them with paths, never secrets.
const (
	TrustCertsEnv = "MESHC_PULSAR_TRUST_CERTS"
	TokenFileEnv  = "MESHC_PULSAR_TOKEN_FILE"
)

// ConnectionFromEnv is the Connection the environment describes for url.
func ConnectionFromEnv(url string) Connection {
	return Connection{URL: url, TrustCertsFile: os.Getenv(TrustCertsEnv), TokenFile: os.Getenv(TokenFileEnv)}
}

// Env is the Connection's files as the environment of an instance.
func (c Connection) Env() []string {
	var env []string
	if c.TrustCertsFile != "" {
		env = append(env, TrustCertsEnv+"="+c.TrustCertsFile)
	}
	if c.TokenFile != "" {
		env = append(env, TokenFileEnv+"="+c.TokenFile)
	}
	return env
}

// ClientOptions are pulsar-client-go's options for the Connection. Files
// named are checked now, so that a missing or empty one is said at once
// rather than as a connection that never succeeds.
func (c Connection) ClientOptions() (pulsar.ClientOptions, error) {
	opts := pulsar.ClientOptions{URL: c.URL}
	if c.TrustCertsFile != "" {
		if !strings.HasPrefix(c.URL, "pulsar+ssl://") {
			return opts, fmt.Errorf("trust certificates %s are for pulsar+ssl:// URLs, and %s is not one", c.TrustCertsFile, c.URL)
		}
		if err := readable(c.TrustCertsFile, "trust certificates"); err != nil {
			return opts, err
		}
		opts.TLSTrustCertsFilePath, opts.TLSValidateHostname = c.TrustCertsFile, true
	}
	if c.TokenFile != "" {
		if err := readable(c.TokenFile, "token"); err != nil {
			return opts, err
		}
		opts.Authentication = pulsar.NewAuthenticationTokenFromFile(c.TokenFile)
	}
	return opts, nil
}

// readable checks that a file exists and holds something.
func readable(path, what string) error {
	data, err := os.ReadFile(path)
	switch {
	case err != nil:
		return fmt.Errorf("reading the Pulsar %s: %w", what, err)
	case len(strings.TrimSpace(string(data))) == 0:
		return fmt.Errorf("the Pulsar %s file %s is empty", what, path)
	}
	return nil
}
