package main

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/golang-jwt/jwt/v5"

	"github.com/meshc/meshc/internal/syncbuf"
	"github.com/meshc/meshc/internal/testoauth"
	"github.com/meshc/meshc/internal/testpki"
)

// securedRunTimeout bounds a whole run of the secured mesh.
const securedRunTimeout = 2 * time.Minute

// securedMesh counts words on a secured Pulsar; the pulsar block says how
// instances reach it, and the run gives each secret as a file.
const securedMesh = `mesh secured {
  pulsar {
    url = "pulsar+ssl://%s"
    admin_url = "https://%s"
    trust_certs = secret("pulsar/ca", "ca.crt")
    %s
  }
}

type Count {
  word string
  count int64
}

topic sentences string
topic words string
topic counts json<Count>

source lines -> sentences {
  use = builtin.generator
  config {
    lines = ["the quick brown fox", "the lazy dog"]
    count = 20
  }
}

function split(sentences) -> words { use = builtin.split_words }

function count(words) -> counts {
  use = builtin.word_count
  state = true
}

sink print(counts) { use = builtin.stdout }
`

// TestRunSecured runs a mesh with meshc run against meshc broker serving
// TLS only, with authentication and authorization on, one way to
// authenticate each: a token, OAuth2 client credentials from an issuer the
// broker trusts, a client certificate. Every message is processed (the
// run ends on its own once its inputs are drained, which it learns from
// the admin API with the same credentials); a role without a grant on the
// mesh's namespace, and a token the broker does not take, are refused at
// start with the broker's reason.
func TestRunSecured(t *testing.T) {
	pki := testpki.New(t)
	secret, token := testpki.Tokens(t, "orders")
	stranger := signedToken(t, secret, "stranger") // a role with no grant
	_, forged := testpki.Tokens(t, "orders")       // signed with another key
	issuer := testoauth.Start(t, testoauth.Config{ClientID: "meshc", ClientSecret: "s3cret", Audience: "urn:pulsar:test", Role: "orders"})
	cert, key := pki.Client(t, "orders")
	tlsArgs := []string{"--tls-listen", "127.0.0.1:0", "--admin-tls-listen", "127.0.0.1:0", "--tls-cert", pki.CertFile, "--tls-key", pki.KeyFile,
		"--grant", "orders=public/default:produce,consume"}
	for _, tc := range []struct {
		name   string
		broker []string
		auth   string // the pulsar block's way to authenticate
		flags  []string
		fail   string // what the run says when it must fail
	}{
		{name: "token", broker: []string{"--auth-token-secret-key", secret}, auth: `token = secret("pulsar/orders", "token")`,
			flags: []string{"--pulsar-token-file", token}},
		{name: "oauth2", broker: []string{"--auth-token-public-key", issuer.PublicKeyFile},
			auth:  fmt.Sprintf(`oauth2 { issuer_url = %q, audience = "urn:pulsar:test", credentials = secret("pulsar/oauth2", "credentials.json") }`, issuer.URL),
			flags: []string{"--pulsar-oauth2-credentials-file", issuer.CredentialsFile(t, "s3cret")}},
		{name: "client certificate", broker: []string{"--auth-tls", "--tls-trust-certs", pki.CAFile},
			auth:  `client_cert { cert = secret("pulsar/client", "tls.crt"), key = secret("pulsar/client", "tls.key") }`,
			flags: []string{"--pulsar-tls-cert-file", cert, "--pulsar-tls-key-file", key}},
		{name: "no grant", broker: []string{"--auth-token-secret-key", secret}, auth: `token = secret("pulsar/orders", "token")`,
			flags: []string{"--pulsar-token-file", stranger}, fail: "AuthorizationError"},
		{name: "token signed with another key", broker: []string{"--auth-token-secret-key", secret}, auth: `token = secret("pulsar/orders", "token")`,
			flags: []string{"--pulsar-token-file", forged}, fail: "refused the connection: authentication failed"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			pulsar, admin, _ := startSecuredBroker(t, append(tlsArgs, tc.broker...)...)
			dir := t.TempDir()
			mesh := filepath.Join(dir, "secured.mesh")
			if err := os.WriteFile(mesh, []byte(fmt.Sprintf(securedMesh, pulsar, admin, tc.auth)), 0o644); err != nil {
				t.Fatal(err)
			}
			args := append([]string{"run", "--progress", "off", "--pulsar-trust-certs", pki.CAFile}, tc.flags...)
			cmd := exec.Command("meshc", append(args, mesh)...)
			cmd.Env = append(os.Environ(), "MESHC_RUN_DIR="+dir)
			out, err := runBounded(t, cmd, securedRunTimeout)
			if tc.fail != "" {
				t.Logf("the run said:\n%s", out)
				if err == nil || !strings.Contains(out, tc.fail) {
					t.Fatalf("run: %v, want a failure saying %q:\n%s", err, tc.fail, out)
				}
				return
			}
			if err != nil {
				t.Fatalf("run: %v\n%s", err, out)
			}
			for _, want := range []string{`{"count":20,"word":"the"}`, `{"count":10,"word":"dog"}`, "its sources are done; stopping"} {
				if !strings.Contains(out, want) {
					t.Errorf("the run did not print %s:\n%s", want, out)
				}
			}
		})
	}
}

// signedToken writes a token for role signed with the HS256 key in
// secretFile.
func signedToken(t *testing.T, secretFile, role string) string {
	t.Helper()
	key, err := os.ReadFile(secretFile)
	if err != nil {
		t.Fatal(err)
	}
	file := filepath.Join(t.TempDir(), role+".token")
	tok := testpki.Sign(t, jwt.SigningMethodHS256, key, jwt.MapClaims{"sub": role})
	if err := os.WriteFile(file, []byte(tok), 0o600); err != nil {
		t.Fatal(err)
	}
	return file
}

// runBounded runs cmd, killing it after timeout, and returns its output.
func runBounded(t *testing.T, cmd *exec.Cmd, timeout time.Duration) (string, error) {
	t.Helper()
	out := &syncbuf.Buffer{}
	cmd.Stdout, cmd.Stderr = out, out
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- cmd.Wait() }()
	select {
	case err := <-done:
		return out.String(), err
	case <-time.After(timeout):
		cmd.Process.Kill()
		<-done
		t.Fatalf("%s did not end within %s:\n%s", strings.Join(cmd.Args, " "), timeout, out)
		return "", nil
	}
}
