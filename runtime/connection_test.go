package runtime

import (
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/apache/pulsar-client-go/pulsar/auth"
	"github.com/google/go-cmp/cmp"

	"github.com/meshc/meshc/internal/syncbuf"
	"github.com/meshc/meshc/internal/testpki"
)

// These tests check Connection on its own, without a broker: what the
// environment gives, what ClientOptions makes of it, and what it refuses.

const (
	plainURL = "pulsar://127.0.0.1:6650"
	tlsURL   = "pulsar+ssl://127.0.0.1:6651"
)

// connFiles are files a Connection may name, in a test's folder.
type connFiles struct {
	pki                          testpki.PKI
	token, creds, empty, missing string
	notJSON, noSecret, noIssuer  string
	otherKey                     string
	secret                       string
}

func newConnFiles(t *testing.T) connFiles {
	t.Helper()
	dir := t.TempDir()
	f := connFiles{pki: testpki.New(t), missing: filepath.Join(dir, "missing"), secret: "hunter2-not-to-be-shown"}
	_, f.token = testpki.Tokens(t, "alice")
	f.otherKey = testpki.New(t).KeyFile
	for _, w := range []struct {
		path *string
		name string
		data string
	}{
		{&f.creds, "creds.json", `{"type":"client_credentials","client_id":"meshc","client_secret":"` + f.secret + `","issuer_url":"https://issuer.example"}`},
		{&f.empty, "empty", " \n"},
		{&f.notJSON, "not.json", `{"client_id":"meshc","client_secret":"` + f.secret},
		{&f.noSecret, "nosecret.json", `{"client_id":"meshc"}`},
		{&f.noIssuer, "noissuer.json", `{"client_id":"meshc","client_secret":"` + f.secret + `"}`},
	} {
		*w.path = filepath.Join(dir, w.name)
		if err := os.WriteFile(*w.path, []byte(w.data), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	return f
}

// TestConnectionEnvRoundTrip: what Env writes, ConnectionFromEnv reads
// back, and Env names every variable, so that an instance's environment
// is its Connection and nothing else.
func TestConnectionEnvRoundTrip(t *testing.T) {
	captureDefaultLog(t)
	for name, c := range map[string]Connection{
		"plain":  {URL: plainURL},
		"token":  {URL: tlsURL, TrustCertsFile: "/ca.pem", TokenFile: "/token"},
		"tls":    {URL: tlsURL, TrustCertsFile: "/ca.pem", NoHostnameVerification: true, CertFile: "/c.pem", KeyFile: "/k.pem"},
		"oauth2": {URL: tlsURL, IssuerURL: "https://issuer.example/", Audience: "urn:pulsar", Scope: "a b", CredentialsFile: "/creds.json"},
	} {
		t.Run(name, func(t *testing.T) {
			env := c.Env()
			if len(env) != 9 {
				t.Errorf("Env has %d variables; want all 9: %q", len(env), env)
			}
			for _, kv := range env {
				k, v, _ := strings.Cut(kv, "=")
				t.Setenv(k, v)
			}
			if diff := cmp.Diff(c, ConnectionFromEnv(c.URL), cmp.AllowUnexported(Connection{})); diff != "" {
				t.Errorf("ConnectionFromEnv(Env()) (-want +got):\n%s", diff)
			}
		})
	}
}

// TestHostnameVerifyEnv: the variable is a boolean; anything else stops
// the client, naming the variable.
func TestHostnameVerifyEnv(t *testing.T) {
	captureDefaultLog(t)
	for _, tc := range []struct {
		value   string
		off     bool
		wantErr string
	}{
		{"", false, ""},
		{"true", true, ""},
		{"1", true, ""},
		{"false", false, ""},
		{"yes", false, NoHostnameVerifyEnv + `="yes": set it to true or false`},
	} {
		t.Run(tc.value, func(t *testing.T) {
			t.Setenv(NoHostnameVerifyEnv, tc.value)
			c := ConnectionFromEnv(tlsURL)
			_, err := c.ClientOptions()
			if c.NoHostnameVerification != tc.off || errText(err) != tc.wantErr {
				t.Errorf("verification off %v, ClientOptions error %q; want %v, %q", c.NoHostnameVerification, errText(err), tc.off, tc.wantErr)
			}
		})
	}
}

// TestHostnameWarningLogged: an instance turned to not verify host names
// says so in its log (standard error, through slog's default logger).
func TestHostnameWarningLogged(t *testing.T) {
	buf := captureDefaultLog(t)
	t.Setenv(NoHostnameVerifyEnv, "true")
	ConnectionFromEnv(tlsURL)
	if !strings.Contains(buf.String(), "level=WARN") || !strings.Contains(buf.String(), "host name verification is off") {
		t.Errorf("log %q; want a warning that host names are not verified", buf.String())
	}
}

// captureDefaultLog sends slog's default logger to a buffer until the
// test ends: where ConnectionFromEnv warns.
func captureDefaultLog(t *testing.T) *syncbuf.Buffer {
	buf := &syncbuf.Buffer{}
	old := slog.Default()
	slog.SetDefault(slog.New(slog.NewTextHandler(buf, nil)))
	t.Cleanup(func() { slog.SetDefault(old) })
	return buf
}

func errText(err error) string {
	if err == nil {
		return ""
	}
	return err.Error()
}

// TestClientOptionsRefuses: settings that cannot work, and files missing,
// empty or wrong, are said before anything connects, with what to do, and
// never with a secret.
func TestClientOptionsRefuses(t *testing.T) {
	f := newConnFiles(t)
	cert, key := f.pki.CertFile, f.pki.KeyFile
	oauth := func(creds string) Connection { return Connection{URL: tlsURL, CredentialsFile: creds} }
	for _, tc := range []struct {
		name string
		conn Connection
		want string
	}{
		{"token and oauth2", Connection{URL: tlsURL, TokenFile: f.token, CredentialsFile: f.creds},
			"set twice, as token (--pulsar-token-file, MESHC_PULSAR_TOKEN_FILE) and as oauth2 (--pulsar-oauth2-*, MESHC_PULSAR_OAUTH2_*): keep one"},
		{"token and tls", Connection{URL: tlsURL, TokenFile: f.token, CertFile: cert, KeyFile: key},
			"set twice, as token (--pulsar-token-file, MESHC_PULSAR_TOKEN_FILE) and as tls (--pulsar-tls-cert-file"},
		{"oauth2 audience and tls", Connection{URL: tlsURL, Audience: "urn:pulsar", CertFile: cert, KeyFile: key},
			"set twice, as oauth2 (--pulsar-oauth2-*, MESHC_PULSAR_OAUTH2_*) and as tls"},
		{"tls over pulsar://", Connection{URL: plainURL, CertFile: cert, KeyFile: key},
			"a TLS client certificate is for pulsar+ssl:// URLs, and pulsar://127.0.0.1:6650 is not one: use pulsar+ssl://"},
		{"no verification over pulsar://", Connection{URL: plainURL, NoHostnameVerification: true},
			"turning host name verification off is for pulsar+ssl:// URLs"},
		{"trust over pulsar://", Connection{URL: plainURL, TrustCertsFile: f.pki.CAFile}, "are for pulsar+ssl:// URLs"},
		{"cert without key", Connection{URL: tlsURL, CertFile: cert}, "needs both its certificate file and its key file"},
		{"key without cert", Connection{URL: tlsURL, KeyFile: key}, "needs both its certificate file and its key file"},
		{"cert missing", Connection{URL: tlsURL, CertFile: f.missing, KeyFile: key},
			"reading the Pulsar TLS client certificate: open " + f.missing + ": no such file or directory; give a readable file"},
		{"key empty", Connection{URL: tlsURL, CertFile: cert, KeyFile: f.empty}, "the Pulsar TLS client key file " + f.empty + " is empty"},
		{"key of another cert", Connection{URL: tlsURL, CertFile: cert, KeyFile: f.otherKey},
			"give a PEM certificate and its PEM private key"},
		{"oauth2 without credentials", Connection{URL: tlsURL, IssuerURL: "https://issuer.example"},
			"needs a credentials file of client_id and client_secret (--pulsar-oauth2-credentials-file, MESHC_PULSAR_OAUTH2_CREDENTIALS_FILE)"},
		{"credentials missing", oauth(f.missing), "reading the Pulsar OAuth2 credentials: open " + f.missing},
		{"credentials empty", oauth(f.empty), "the Pulsar OAuth2 credentials file " + f.empty + " is empty"},
		{"credentials not JSON", oauth(f.notJSON), "credentials file " + f.notJSON + ": not JSON (at byte"},
		{"credentials without secret", oauth(f.noSecret), "no client_secret: give the OAuth2 client's id and secret"},
		{"credentials as data", oauth("data:application/json;base64,e30="), "not a data: URL"},
		{"no issuer", oauth(f.noIssuer), "needs the issuer URL: set --pulsar-oauth2-issuer-url or MESHC_PULSAR_OAUTH2_ISSUER_URL"},
		{"issuer not http", Connection{URL: tlsURL, IssuerURL: "ftp://issuer.example", CredentialsFile: f.creds},
			`issuer URL "ftp://issuer.example": want https://HOST[/PATH]`},
		{"token empty", Connection{URL: tlsURL, TokenFile: f.empty}, "the Pulsar token file " + f.empty + " is empty"},
		{"trust without PEM", Connection{URL: tlsURL, TrustCertsFile: f.token, NoHostnameVerification: true},
			"hold no PEM certificate: give the CAs' PEM bundle"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := tc.conn.ClientOptions()
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("error %v; want %q", err, tc.want)
			}
			if strings.Contains(err.Error(), f.secret) {
				t.Errorf("error %q shows the client secret", err)
			}
		})
	}
}

// optionsSummary is what ClientOptions chose, to compare.
type optionsSummary struct {
	Auth             string // none, token, oauth2 or tls
	TrustCerts       string
	ValidateHostname bool
	ChainOnlyTLS     bool
}

// TestClientOptionsChooses: each way to authenticate makes its provider,
// and turning host name verification off makes a TLS configuration of
// our own that still presents the client certificate.
func TestClientOptionsChooses(t *testing.T) {
	f := newConnFiles(t)
	cert, key, ca := f.pki.CertFile, f.pki.KeyFile, f.pki.CAFile
	for _, tc := range []struct {
		name string
		conn Connection
		want optionsSummary
	}{
		{"plain", Connection{URL: plainURL}, optionsSummary{Auth: "none"}},
		{"token", Connection{URL: plainURL, TokenFile: f.token}, optionsSummary{Auth: "token"}},
		{"trusted token", Connection{URL: tlsURL, TrustCertsFile: ca, TokenFile: f.token},
			optionsSummary{Auth: "token", TrustCerts: ca, ValidateHostname: true}},
		{"oauth2", Connection{URL: plainURL, Audience: "urn:pulsar", CredentialsFile: f.creds}, optionsSummary{Auth: "oauth2"}},
		{"oauth2 file URL", Connection{URL: plainURL, IssuerURL: "http://127.0.0.1:1", CredentialsFile: "file://" + f.noIssuer},
			optionsSummary{Auth: "oauth2"}},
		{"tls", Connection{URL: tlsURL, TrustCertsFile: ca, CertFile: cert, KeyFile: key},
			optionsSummary{Auth: "tls", TrustCerts: ca, ValidateHostname: true}},
		{"tls, any host", Connection{URL: tlsURL, TrustCertsFile: ca, CertFile: cert, KeyFile: key, NoHostnameVerification: true},
			optionsSummary{Auth: "tls", TrustCerts: ca, ValidateHostname: true, ChainOnlyTLS: true}},
		{"any host, system CAs", Connection{URL: tlsURL, NoHostnameVerification: true}, optionsSummary{Auth: "none", ChainOnlyTLS: true}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			opts, err := tc.conn.ClientOptions()
			if err != nil {
				t.Fatal(err)
			}
			got := optionsSummary{Auth: authKind(opts.Authentication), TrustCerts: opts.TLSTrustCertsFilePath,
				ValidateHostname: opts.TLSValidateHostname, ChainOnlyTLS: opts.TLSConfig != nil}
			if diff := cmp.Diff(tc.want, got); diff != "" {
				t.Errorf("(-want +got):\n%s", diff)
			}
			if opts.TLSConfig != nil && (tc.conn.CertFile != "") != (opts.TLSConfig.GetClientCertificate != nil) {
				t.Errorf("client certificate %q, but the TLS configuration presents one: %v",
					tc.conn.CertFile, opts.TLSConfig.GetClientCertificate != nil)
			}
		})
	}
}

func authKind(a any) string {
	switch p := a.(type) {
	case nil:
		return "none"
	case *oauth2Auth:
		return "oauth2"
	case auth.Provider:
		return p.Name()
	}
	return fmt.Sprintf("%T", a)
}

// TestWarnings: what gives up security is warned about, and only that.
func TestWarnings(t *testing.T) {
	for _, tc := range []struct {
		name string
		conn Connection
		want []string
	}{
		{"verified", Connection{URL: tlsURL}, nil},
		{"any host", Connection{URL: tlsURL, NoHostnameVerification: true}, []string{"Pulsar TLS host name verification is off"}},
		{"https issuer", Connection{IssuerURL: "https://issuer.example"}, nil},
		{"loopback http issuer", Connection{IssuerURL: "http://127.0.0.1:8080"}, nil},
		{"localhost http issuer", Connection{IssuerURL: "http://localhost:8080"}, nil},
		{"http issuer", Connection{IssuerURL: "http://issuer.example"}, []string{"the OAuth2 issuer http://issuer.example is plain http://"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got := tc.conn.Warnings()
			starts := cmp.Comparer(func(want, got string) bool { return strings.HasPrefix(got, want) || strings.HasPrefix(want, got) })
			if diff := cmp.Diff(tc.want, got, starts); diff != "" {
				t.Errorf("warnings, by their starts (-want +got):\n%s", diff)
			}
		})
	}
}
