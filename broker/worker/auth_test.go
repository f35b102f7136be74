package worker

import (
	"bytes"
	"crypto/rand"
	"io"
	"mime/multipart"
	"net/http"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/apache/pulsar-client-go/pulsaradmin"
	"github.com/apache/pulsar-client-go/pulsaradmin/pkg/admin/config"
	"github.com/golang-jwt/jwt/v5"

	"github.com/meshc/meshc/broker"
	"github.com/meshc/meshc/internal/brokertest"
)

// TestAuthenticatedWorker runs the worker on a broker that requires
// tokens: calls without one are 401, the instances authenticate with the
// token file the worker names in their instance configuration, and
// trigger and the removal of subscriptions carry the worker's token.
func TestAuthenticatedWorker(t *testing.T) {
	dir := t.TempDir()
	secret := make([]byte, 32)
	rand.Read(secret)
	secretFile, tokenFile := filepath.Join(dir, "secret.key"), filepath.Join(dir, "token")
	tok, err := jwt.NewWithClaims(jwt.SigningMethodHS256, jwt.MapClaims{"sub": "admin"}).SignedString(secret)
	if err != nil {
		t.Fatal(err)
	}
	for path, b := range map[string][]byte{secretFile: secret, tokenFile: []byte(tok)} {
		if err := os.WriteFile(path, b, 0o600); err != nil {
			t.Fatal(err)
		}
	}
	w, err := New(Options{AuthPlugin: "org.apache.pulsar.client.impl.auth.AuthenticationToken", AuthParams: "file://" + tokenFile,
		MinRestartBackoff: testBackoff})
	if err != nil {
		t.Fatal(err)
	}
	b := brokertest.Start(t, broker.Config{AdminListen: "127.0.0.1:0", AdminRoutes: w.Routes(),
		AuthenticationEnabled: true, AuthTokenSecretKeyFile: secretFile})
	if err := w.Start(b.URL(), b.AdminURL()); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { w.Close() })

	anonymous := adminClient(t, b.AdminURL())
	if _, err := anonymous.Functions().GetFunctions(tenant, namespace); codeOf(err) != http.StatusUnauthorized {
		t.Errorf("without a token: %v, want 401", err)
	}
	a, err := pulsaradmin.NewClient(&pulsaradmin.Config{WebServiceURL: b.AdminURL(), PulsarAPIVersion: config.V3, Token: tok})
	if err != nil {
		t.Fatal(err)
	}
	e := &env{b: b, w: w, admin: a}
	fc := functionConfig(t, wordcount(t), "split")
	fc.Parallelism = 1
	if err := a.Functions().CreateFunc(fc, meshrt(t)); err != nil {
		t.Fatal(err)
	}
	e.running(t, tenant, namespace, "split", 1)

	var body bytes.Buffer
	mw := multipart.NewWriter(&body)
	mw.WriteField("data", "Secured")
	mw.Close()
	req, _ := http.NewRequest(http.MethodPost, b.AdminURL()+functionsPath+"/public/default/split/trigger", &body)
	req.Header.Set("Content-Type", mw.FormDataContentType())
	req.Header.Set("Authorization", "Bearer "+tok)
	resp, err := (&http.Client{Timeout: time.Minute}).Do(req)
	if err != nil {
		t.Fatal(err)
	}
	out, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK || string(out) != "secured" {
		t.Errorf("trigger: %s %q, want 200 \"secured\"", resp.Status, out)
	}

	if err := a.Functions().DeleteFunction(tenant, namespace, "split"); err != nil {
		t.Fatalf("delete: %v", err)
	}
	topics, err := pulsaradmin.NewClient(&pulsaradmin.Config{WebServiceURL: b.AdminURL(), Token: tok})
	if err != nil {
		t.Fatal(err)
	}
	subs, err := topics.Subscriptions().List(*topicName(t, fc.Inputs[0]))
	if err != nil || len(subs) != 0 {
		t.Errorf("subscriptions after delete: %v, %v", subs, err)
	}
}
