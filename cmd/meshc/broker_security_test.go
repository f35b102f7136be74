package main

import (
	"bufio"
	"bytes"
	"context"
	"io"
	"log/slog"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/apache/pulsar-client-go/pulsar"
	plog "github.com/apache/pulsar-client-go/pulsar/log"

	"github.com/meshc/meshc/internal/syncbuf"
	"github.com/meshc/meshc/internal/testpki"
)

// TestBrokerSecurityFlagErrors: security flags that cannot work together
// exit 2 saying what to add; files that cannot be used exit 1 naming them.
func TestBrokerSecurityFlagErrors(t *testing.T) {
	pki := testpki.New(t)
	secret, _ := testpki.Tokens(t, "x")
	missing := filepath.Join(t.TempDir(), "missing.pem")
	base := []string{"broker", "--listen", "127.0.0.1:0", "--admin-listen", ""}
	tlsArgs := []string{"--tls-listen", "127.0.0.1:0", "--tls-cert", pki.CertFile, "--tls-key", pki.KeyFile}
	for _, tc := range []struct {
		name     string
		args     []string
		wantCode int
		wantErr  string
	}{
		{"superuser without authentication", []string{"--superuser", "root"}, exitUsage,
			"--superuser and --grant need authentication, so that every client has a role: add --auth-token-secret-key FILE"},
		{"grant without authentication", []string{"--grant", "a=public/default:produce"}, exitUsage, "--superuser and --grant need authentication"},
		{"bad grant", []string{"--auth-token-secret-key", secret, "--grant", "alice=public/default:write"}, exitUsage,
			`--grant: grant "alice=public/default:write": action "write": use produce or consume`},
		{"grant without actions", []string{"--auth-token-secret-key", secret, "--grant", "alice=public/default"}, exitUsage,
			"want ROLE=TENANT/NAMESPACE:ACTIONS"},
		{"auth-tls without trust file", append([]string{"--auth-tls"}, tlsArgs...), exitUsage, "--auth-tls needs --tls-trust-certs FILE"},
		{"auth-tls without TLS listener", []string{"--auth-tls", "--tls-trust-certs", pki.CAFile}, exitUsage, "--auth-tls needs --tls-listen"},
		{"trust file without auth-tls", append([]string{"--tls-trust-certs", pki.CAFile}, tlsArgs...), exitUsage, "--tls-trust-certs is for --auth-tls"},
		{"admin TLS without certificate", []string{"--admin-tls-listen", "127.0.0.1:0"}, exitUsage, "--admin-tls-listen needs --tls-cert and --tls-key"},
		{"missing trust file", append([]string{"--auth-tls", "--tls-trust-certs", missing}, tlsArgs...), exitFail,
			"read TLS trust certificates: open " + missing},
		{"missing certificate for admin TLS", []string{"--admin-tls-listen", "127.0.0.1:0", "--tls-cert", missing, "--tls-key", pki.KeyFile}, exitFail,
			"load TLS certificate " + missing},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var out, errOut bytes.Buffer
			code := Main(append(append([]string{}, base...), tc.args...), strings.NewReader(""), &out, &errOut)
			if code != tc.wantCode || !strings.Contains(errOut.String(), tc.wantErr) {
				t.Fatalf("exit %d, stderr %q; want %d and %q", code, errOut.String(), tc.wantCode, tc.wantErr)
			}
		})
	}
}

// logWait bounds the wait for a line of the broker's log.
const logWait = 5 * time.Second

var tlsListening = regexp.MustCompile(`^broker listening on pulsar\+ssl://(\S+), admin on https://(\S+)$`)

// startSecuredBroker runs meshc broker with TLS only and returns its
// pulsar+ssl:// and https:// addresses, and its log.
func startSecuredBroker(t *testing.T, args ...string) (pulsar, admin string, log *syncbuf.Buffer) {
	t.Helper()
	cmd := exec.Command("meshc", append([]string{"broker", "--listen", "", "--admin-listen", ""}, args...)...)
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	log = &syncbuf.Buffer{}
	cmd.Stderr = log
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { cmd.Process.Kill(); cmd.Wait() })
	line, err := bufio.NewReader(stdout).ReadString('\n')
	m := tlsListening.FindStringSubmatch(strings.TrimSpace(line))
	if m == nil {
		t.Fatalf("meshc broker printed %q (%v); stderr:\n%s", line, err, log)
	}
	go io.Copy(io.Discard, stdout)
	return m[1], m[2], log
}

// TestBrokerCommandMTLS runs `meshc broker` with TLS only, certificate
// authentication and a grant, and checks with pulsar-client-go that the
// granted certificate produces and another role is refused at once.
func TestBrokerCommandMTLS(t *testing.T) {
	pki := testpki.New(t)
	addr, _, stderr := startSecuredBroker(t, "--admin-tls-listen", "127.0.0.1:0",
		"--tls-listen", "127.0.0.1:0", "--tls-cert", pki.CertFile, "--tls-key", pki.KeyFile,
		"--auth-tls", "--tls-trust-certs", pki.CAFile, "--grant", "writer=public/default:produce", "--superuser", "root")
	client := func(cn string) pulsar.Client {
		cert, key := pki.Client(t, cn)
		c, err := pulsar.NewClient(pulsar.ClientOptions{URL: "pulsar+ssl://" + addr, TLSTrustCertsFilePath: pki.CAFile,
			Authentication: pulsar.NewAuthenticationTLS(cert, key), OperationTimeout: 30 * time.Second,
			Logger: plog.NewLoggerWithSlog(slog.New(slog.NewTextHandler(io.Discard, nil)))})
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(c.Close)
		return c
	}
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	p, err := client("writer").CreateProducer(pulsar.ProducerOptions{Topic: "cli-mtls"})
	if err != nil {
		t.Fatalf("writer's producer: %v; stderr:\n%s", err, stderr)
	}
	if _, err := p.Send(ctx, &pulsar.ProducerMessage{Payload: []byte("hi")}); err != nil {
		t.Fatal(err)
	}
	p.Close()
	start := time.Now()
	_, err = client("reader").CreateProducer(pulsar.ProducerOptions{Topic: "cli-mtls"})
	if err == nil || !strings.Contains(err.Error(), "AuthorizationError") || time.Since(start) > 5*time.Second {
		t.Fatalf("reader's producer: %v after %s; want AuthorizationError at once", err, time.Since(start))
	}
	// pulsar-client-go drops the lookup refusal's message; the broker logs it.
	const want = "may not look up topics (it needs produce or consume) on namespace public/default: grant reader=public/default:produce"
	for deadline := time.Now().Add(logWait); !strings.Contains(stderr.String(), want); time.Sleep(10 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatalf("broker log lacks %q:\n%s", want, stderr)
		}
	}
}
