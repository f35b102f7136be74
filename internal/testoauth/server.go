package testoauth

import (
	"crypto/rand"
	"crypto/rsa"
	"crypto/subtle"
	"crypto/x509"
	"encoding/json"
	"math"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/golang-jwt/jwt/v5"

	"github.com/meshc/meshc/internal/testpki"
)

// The paths the server answers on, under its URL.
const (
	DiscoveryPath = "/.well-known/openid-configuration"
	TokenPath     = "/oauth/token"
)

// DefaultLifetime is how long a token is valid when Config leaves it
// unset: long enough that no test sees one expire by accident.
const DefaultLifetime = time.Hour

// rsaBits is the size of the signing key: the smallest RSA key jwt and
// Pulsar accept, since each server makes its own.
const rsaBits = 2048

// Config is the one client the server knows and the tokens it issues.
type Config struct {
	ClientID, ClientSecret string
	// Audience is what a client must ask for; empty accepts any, or none.
	Audience string
	// Role is the "sub" claim of the issued tokens: the client's role at
	// the broker.
	Role string
	// Lifetime is how long a token is valid (default DefaultLifetime);
	// expires_in says it in whole seconds, rounded up.
	Lifetime time.Duration
}

// Server is a running authorization server.
type Server struct {
	// URL is the issuer URL, for a client's issuer_url.
	URL string
	// PublicKeyFile is the PEM public key the tokens verify with, for the
	// broker's AuthTokenPublicKeyFile.
	PublicKeyFile string

	cfg Config
	key *rsa.PrivateKey

	mu       sync.Mutex
	requests int
	issued   []string
}

// Start starts a server on 127.0.0.1, closed when the test ends.
func Start(t testing.TB, cfg Config) *Server {
	t.Helper()
	if cfg.Lifetime <= 0 {
		cfg.Lifetime = DefaultLifetime
	}
	key, err := rsa.GenerateKey(rand.Reader, rsaBits)
	if err != nil {
		t.Fatal(err)
	}
	der, err := x509.MarshalPKIXPublicKey(&key.PublicKey)
	if err != nil {
		t.Fatal(err)
	}
	s := &Server{cfg: cfg, key: key, PublicKeyFile: filepath.Join(t.TempDir(), "oauth-public.pem")}
	testpki.WritePEM(t, s.PublicKeyFile, "PUBLIC KEY", der)
	mux := http.NewServeMux()
	mux.HandleFunc("GET "+DiscoveryPath, s.discovery)
	mux.HandleFunc("POST "+TokenPath, s.token)
	hs := httptest.NewServer(mux)
	t.Cleanup(hs.Close)
	s.URL = hs.URL
	return s
}

// CredentialsFile writes the client's credentials file, as Pulsar's
// OAuth2 client-credentials flow reads it, with secret as its
// client_secret, and returns its path.
func (s *Server) CredentialsFile(t testing.TB, secret string) string {
	t.Helper()
	b, err := json.Marshal(map[string]string{"type": "client_credentials", "client_id": s.cfg.ClientID,
		"client_secret": secret, "issuer_url": s.URL})
	if err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(t.TempDir(), "credentials.json")
	if err := os.WriteFile(path, b, 0o600); err != nil {
		t.Fatal(err)
	}
	return path
}

// Requests is how many token requests came, refused ones included.
func (s *Server) Requests() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.requests
}

// Issued is the tokens issued so far, oldest first.
func (s *Server) Issued() []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]string(nil), s.issued...)
}

// discovery is the OIDC discovery document: only what clients of the
// client-credentials grant read.
func (s *Server) discovery(w http.ResponseWriter, _ *http.Request) {
	writeJSON(w, http.StatusOK, map[string]any{"issuer": s.URL, "token_endpoint": s.URL + TokenPath,
		"grant_types_supported": []string{"client_credentials"}})
}

// token answers a token request as RFC 6749 says: a token, or an error
// code with a description.
func (s *Server) token(w http.ResponseWriter, r *http.Request) {
	s.mu.Lock()
	s.requests++
	s.mu.Unlock()
	if err := r.ParseForm(); err != nil {
		tokenError(w, http.StatusBadRequest, "invalid_request", err.Error())
		return
	}
	if g := r.PostForm.Get("grant_type"); g != "client_credentials" {
		tokenError(w, http.StatusBadRequest, "unsupported_grant_type", "only client_credentials is served, not "+g)
		return
	}
	if !s.clientAuthenticated(r) {
		tokenError(w, http.StatusUnauthorized, "invalid_client", "client authentication failed: unknown client_id or wrong client_secret")
		return
	}
	aud := r.PostForm.Get("audience")
	if s.cfg.Audience != "" && aud != s.cfg.Audience {
		tokenError(w, http.StatusBadRequest, "invalid_target", "audience "+quote(aud)+" is not "+quote(s.cfg.Audience))
		return
	}
	tok, err := s.sign(aud)
	if err != nil {
		tokenError(w, http.StatusInternalServerError, "server_error", err.Error())
		return
	}
	writeJSON(w, http.StatusOK, map[string]any{"access_token": tok, "token_type": "Bearer",
		"expires_in": int(math.Ceil(s.cfg.Lifetime.Seconds()))})
}

// clientAuthenticated checks the client's id and secret, sent in the form
// (as pulsar-client-go does) or with HTTP Basic authentication.
func (s *Server) clientAuthenticated(r *http.Request) bool {
	id, secret, ok := r.BasicAuth()
	if !ok {
		id, secret = r.PostForm.Get("client_id"), r.PostForm.Get("client_secret")
	}
	return id == s.cfg.ClientID && subtle.ConstantTimeCompare([]byte(secret), []byte(s.cfg.ClientSecret)) == 1
}

// sign issues a token for the role, and keeps it.
func (s *Server) sign(aud string) (string, error) {
	now := time.Now()
	claims := jwt.MapClaims{"iss": s.URL, "sub": s.cfg.Role, "iat": now.Unix(), "exp": now.Add(s.cfg.Lifetime).Unix()}
	if aud != "" {
		claims["aud"] = aud
	}
	tok, err := jwt.NewWithClaims(jwt.SigningMethodRS256, claims).SignedString(s.key)
	if err != nil {
		return "", err
	}
	s.mu.Lock()
	s.issued = append(s.issued, tok)
	s.mu.Unlock()
	return tok, nil
}

func tokenError(w http.ResponseWriter, status int, code, desc string) {
	writeJSON(w, status, map[string]string{"error": code, "error_description": desc})
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(status)
	json.NewEncoder(w).Encode(v)
}

func quote(s string) string { b, _ := json.Marshal(s); return string(b) }
