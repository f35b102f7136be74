package testoauth

import (
	"crypto/rsa"
	"crypto/x509"
	"encoding/json"
	"encoding/pem"
	"net/http"
	"net/url"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/golang-jwt/jwt/v5"
	"github.com/google/go-cmp/cmp"
)

// TestDiscovery: the discovery document points at the token endpoint.
func TestDiscovery(t *testing.T) {
	s := Start(t, Config{ClientID: "c", ClientSecret: "s", Role: "r"})
	resp, err := http.Get(s.URL + DiscoveryPath)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	type document struct {
		Issuer        string `json:"issuer"`
		TokenEndpoint string `json:"token_endpoint"`
	}
	var got document
	if err := json.NewDecoder(resp.Body).Decode(&got); err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(document{s.URL, s.URL + TokenPath}, got); diff != "" {
		t.Errorf("discovery (-want +got):\n%s", diff)
	}
}

// TestTokenRequests: the right client gets a token for its role that the
// public key verifies; anything else gets the RFC 6749 error, and every
// request is counted.
func TestTokenRequests(t *testing.T) {
	s := Start(t, Config{ClientID: "meshc", ClientSecret: "right", Audience: "urn:pulsar", Role: "alice", Lifetime: time.Minute})
	good := url.Values{"grant_type": {"client_credentials"}, "client_id": {"meshc"}, "client_secret": {"right"}, "audience": {"urn:pulsar"}}
	with := func(k, v string) url.Values {
		f := url.Values{}
		for key, vs := range good {
			f[key] = vs
		}
		f.Set(k, v)
		return f
	}
	for _, tc := range []struct {
		name   string
		form   url.Values
		status int
		code   string
	}{
		{"good", good, http.StatusOK, ""},
		{"wrong secret", with("client_secret", "wrong"), http.StatusUnauthorized, "invalid_client"},
		{"unknown client", with("client_id", "other"), http.StatusUnauthorized, "invalid_client"},
		{"wrong audience", with("audience", "urn:other"), http.StatusBadRequest, "invalid_target"},
		{"wrong grant", with("grant_type", "password"), http.StatusBadRequest, "unsupported_grant_type"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			resp, err := http.PostForm(s.URL+TokenPath, tc.form)
			if err != nil {
				t.Fatal(err)
			}
			defer resp.Body.Close()
			var body map[string]any
			if err := json.NewDecoder(resp.Body).Decode(&body); err != nil {
				t.Fatal(err)
			}
			if resp.StatusCode != tc.status || (tc.code != "" && body["error"] != tc.code) {
				t.Fatalf("status %d, %v; want %d %q", resp.StatusCode, body, tc.status, tc.code)
			}
			if tc.code == "" {
				checkToken(t, s, body)
			}
		})
	}
	if got := s.Requests(); got != 5 {
		t.Errorf("%d requests counted; want 5", got)
	}
	if got := len(s.Issued()); got != 1 {
		t.Errorf("%d tokens issued; want 1", got)
	}
}

// checkToken verifies an issued token with the server's public key file.
func checkToken(t *testing.T, s *Server, body map[string]any) {
	t.Helper()
	if body["expires_in"] != float64(60) || body["token_type"] != "Bearer" {
		t.Errorf("token response %v; want expires_in 60, token_type Bearer", body)
	}
	b, err := os.ReadFile(s.PublicKeyFile)
	if err != nil {
		t.Fatal(err)
	}
	block, _ := pem.Decode(b)
	pub, err := x509.ParsePKIXPublicKey(block.Bytes)
	if err != nil {
		t.Fatal(err)
	}
	var claims jwt.RegisteredClaims
	tok, _ := body["access_token"].(string)
	if _, err := jwt.ParseWithClaims(tok, &claims, func(*jwt.Token) (any, error) { return pub.(*rsa.PublicKey), nil },
		jwt.WithValidMethods([]string{"RS256"}), jwt.WithAudience("urn:pulsar"), jwt.WithIssuer(s.URL)); err != nil {
		t.Fatal(err)
	}
	if claims.Subject != "alice" || time.Until(claims.ExpiresAt.Time) > time.Minute {
		t.Errorf("claims %+v; want sub alice, expiring within a minute", claims)
	}
}

// TestCredentialsFile: the file has what pulsar-client-go reads.
func TestCredentialsFile(t *testing.T) {
	s := Start(t, Config{ClientID: "meshc", ClientSecret: "right", Role: "alice"})
	b, err := os.ReadFile(s.CredentialsFile(t, "sekrit"))
	if err != nil {
		t.Fatal(err)
	}
	var got map[string]string
	if err := json.Unmarshal(b, &got); err != nil {
		t.Fatal(err)
	}
	want := map[string]string{"type": "client_credentials", "client_id": "meshc", "client_secret": "sekrit", "issuer_url": s.URL}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("credentials (-want +got):\n%s", diff)
	}
	if !strings.HasPrefix(s.URL, "http://127.0.0.1:") {
		t.Errorf("URL %s; want on 127.0.0.1", s.URL)
	}
}
