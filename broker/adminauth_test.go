package broker

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/apache/pulsar-client-go/pulsaradmin"
	"github.com/apache/pulsar-client-go/pulsaradmin/pkg/rest"
	"github.com/golang-jwt/jwt/v5"
	"github.com/google/go-cmp/cmp"
)

// adminCallTimeout bounds each admin call of a test: a refusal must come
// at once.
const adminCallTimeout = 10 * time.Second

func adminCtx(t *testing.T) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), adminCallTimeout)
	t.Cleanup(cancel)
	return ctx
}

// newAdminWith returns pulsaradmin configured by cfg.
func newAdminWith(t *testing.T, cfg pulsaradmin.Config) pulsaradmin.Client {
	t.Helper()
	a, err := pulsaradmin.NewClient(&cfg)
	if err != nil {
		t.Fatal(err)
	}
	return a
}

// adminStatus is the HTTP status of a pulsaradmin error, 0 for success, -1
// for an error that is not an admin error; and its reason.
func adminStatus(err error) (int, string) {
	var re rest.Error
	switch {
	case err == nil:
		return 0, ""
	case errors.As(err, &re):
		return re.Code, re.Reason
	}
	return -1, err.Error()
}

// TestAdminTokenAuthorization drives pulsaradmin with each role's token
// (and none) through calls that need a superuser, consume or produce.
func TestAdminTokenAuthorization(t *testing.T) {
	k := newTestKeys(t)
	cfg := grantsConfig(t, testGrants...)
	cfg.AuthenticationEnabled, cfg.AuthTokenSecretKeyFile, cfg.AdminListen = true, k.secretFile, "127.0.0.1:0"
	b := startBroker(t, cfg)
	token := func(role string, exp time.Duration) string {
		return sign(t, jwt.SigningMethodHS256, k.secret, jwt.MapClaims{"sub": role, "exp": time.Now().Add(exp).Unix()})
	}
	admin := func(tok string) pulsaradmin.Client {
		return newAdminWith(t, pulsaradmin.Config{WebServiceURL: b.AdminURL(), Token: tok})
	}
	orders := mustTopicName(t, "persistent://public/orders/t")
	listTenants := func(a pulsaradmin.Client) error { _, err := a.Tenants().ListWithContext(adminCtx(t)); return err }
	create := func(a pulsaradmin.Client) error { return a.Topics().CreateWithContext(adminCtx(t), orders, 0) }
	stats := func(a pulsaradmin.Client) error {
		_, err := a.Topics().GetStatsWithContext(adminCtx(t), orders)
		return err
	}
	for _, tc := range []struct {
		name       string
		client     pulsaradmin.Client
		call       func(pulsaradmin.Client) error
		wantStatus int
		wantReason string
	}{
		{"no token", admin(""), listTenants, http.StatusUnauthorized,
			`authentication failed: no credentials: send "Authorization: Bearer TOKEN"`},
		{"expired token", admin(token("root", -time.Minute)), listTenants, http.StatusUnauthorized,
			"authentication failed: token expired at"},
		{"wrongly signed token", admin(sign(t, jwt.SigningMethodHS256, []byte("other"), jwt.MapClaims{"sub": "root"})), listTenants,
			http.StatusUnauthorized, "authentication failed: token signature is invalid"},
		{"tenants need a superuser", admin(token("alice", time.Hour)), listTenants, http.StatusForbidden,
			`authorization failed: role "alice" may not administer tenants and namespaces: only superuser roles may`},
		{"superuser lists tenants", admin(token("root", time.Hour)), listTenants, 0, ""},
		{"create needs produce", admin(token("bob", time.Hour)), create, http.StatusForbidden,
			`role "bob" may not produce on namespace public/orders`},
		{"producer creates", admin(token("alice", time.Hour)), create, 0, ""},
		{"stats need consume", admin(token("alice", time.Hour)), stats, http.StatusForbidden,
			`role "alice" may not consume on namespace public/orders`},
		{"consumer reads stats", admin(token("bob", time.Hour)), stats, 0, ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			status, reason := adminStatus(tc.call(tc.client))
			if status != tc.wantStatus || !strings.Contains(reason, tc.wantReason) {
				t.Fatalf("status %d, reason %q; want %d and %q", status, reason, tc.wantStatus, tc.wantReason)
			}
		})
	}
}

// TestAdminUnauthorizedShape: a 401 is JSON in Pulsar's shape and asks for
// a bearer token.
func TestAdminUnauthorizedShape(t *testing.T) {
	k := newTestKeys(t)
	b := startBroker(t, Config{AuthenticationEnabled: true, AuthTokenSecretKeyFile: k.secretFile, AdminListen: "127.0.0.1:0"})
	for _, header := range []string{"", "Basic dXNlcjpwdw=="} {
		req, err := http.NewRequestWithContext(adminCtx(t), http.MethodGet, b.AdminURL()+"/admin/v2/clusters", nil)
		if err != nil {
			t.Fatal(err)
		}
		if header != "" {
			req.Header.Set("Authorization", header)
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		var body map[string]string
		err = json.NewDecoder(resp.Body).Decode(&body)
		resp.Body.Close()
		got := []string{resp.Status, resp.Header.Get("Content-Type"), resp.Header.Get("WWW-Authenticate")}
		want := []string{"401 Unauthorized", "application/json", `Bearer realm="pulsar"`}
		if diff := cmp.Diff(want, got); diff != "" || err != nil || !strings.HasPrefix(body["reason"], "authentication failed: ") {
			t.Errorf("Authorization %q: (-want +got):\n%s\nbody %v, %v", header, diff, body, err)
		}
	}
}

// TestAdminTLSClientCert: the HTTPS admin endpoint authenticates
// pulsaradmin by its client certificate; without one, or on the plain
// endpoint, it is 401 naming what to do.
func TestAdminTLSClientCert(t *testing.T) {
	pki, other := newTestPKI(t), newTestPKI(t)
	cfg := grantsConfig(t, "bob=public/orders:consume")
	cfg.AdminListen, cfg.AdminTLSListen = "127.0.0.1:0", "127.0.0.1:0"
	b := startMTLSBroker(t, pki, nil, cfg)
	if !strings.HasPrefix(b.AdminTLSURL(), "https://127.0.0.1:") {
		t.Fatalf("AdminTLSURL %q", b.AdminTLSURL())
	}
	rootCert, rootKey := pki.Client(t, "root")
	bobCert, bobKey := pki.Client(t, "bob")
	strangerCert, strangerKey := other.Client(t, "root")
	tlsAdmin := func(cert, key string) pulsaradmin.Client {
		return newAdminWith(t, pulsaradmin.Config{WebServiceURL: b.AdminTLSURL(), TLSTrustCertsFilePath: pki.CAFile, TLSCertFile: cert, TLSKeyFile: key})
	}
	orders := mustTopicName(t, "persistent://public/orders/t")
	for _, tc := range []struct {
		name       string
		client     pulsaradmin.Client
		call       func(pulsaradmin.Client) error
		wantStatus int
		wantReason string
	}{
		{"superuser certificate", tlsAdmin(rootCert, rootKey), func(a pulsaradmin.Client) error {
			return a.Topics().CreateWithContext(adminCtx(t), orders, 0)
		}, 0, ""},
		{"consumer reads stats", tlsAdmin(bobCert, bobKey), func(a pulsaradmin.Client) error {
			_, err := a.Topics().GetStatsWithContext(adminCtx(t), orders)
			return err
		}, 0, ""},
		{"consumer lists namespaces", tlsAdmin(bobCert, bobKey), func(a pulsaradmin.Client) error {
			_, err := a.Namespaces().GetNamespacesWithContext(adminCtx(t), "public")
			return err
		}, http.StatusForbidden, `role "bob" may not administer tenants and namespaces`},
		{"certificate from another CA", tlsAdmin(strangerCert, strangerKey), func(a pulsaradmin.Client) error {
			_, err := a.Tenants().ListWithContext(adminCtx(t))
			return err
		}, http.StatusUnauthorized, "client certificate is not trusted: CN=root: x509: certificate signed by unknown authority"},
		{"no certificate", tlsAdmin("", ""), func(a pulsaradmin.Client) error {
			_, err := a.Tenants().ListWithContext(adminCtx(t))
			return err
		}, http.StatusUnauthorized, "no credentials: present a client certificate to " + b.AdminTLSURL()},
		{"plain endpoint", newAdminWith(t, pulsaradmin.Config{WebServiceURL: b.AdminURL()}), func(a pulsaradmin.Client) error {
			_, err := a.Tenants().ListWithContext(adminCtx(t))
			return err
		}, http.StatusUnauthorized, "no credentials: present a client certificate to " + b.AdminTLSURL()},
	} {
		t.Run(tc.name, func(t *testing.T) {
			status, reason := adminStatus(tc.call(tc.client))
			if status != tc.wantStatus || !strings.Contains(reason, tc.wantReason) {
				t.Fatalf("status %d, reason %q; want %d and %q", status, reason, tc.wantStatus, tc.wantReason)
			}
		})
	}
}

// TestAdminTLSWithoutAuth: the HTTPS admin endpoint also serves without
// authentication, like the plain one.
func TestAdminTLSWithoutAuth(t *testing.T) {
	pki := newTestPKI(t)
	b := startBroker(t, Config{AdminTLSListen: "127.0.0.1:0", TLSCertFile: pki.CertFile, TLSKeyFile: pki.KeyFile})
	if b.AdminURL() != "" {
		t.Fatalf("AdminURL %q; want none", b.AdminURL())
	}
	a := newAdminWith(t, pulsaradmin.Config{WebServiceURL: b.AdminTLSURL(), TLSTrustCertsFilePath: pki.CAFile})
	got, err := a.Clusters().List()
	if diff := cmp.Diff([]string{"standalone"}, got); diff != "" || err != nil {
		t.Fatalf("clusters (-want +got):\n%s\n%v", diff, err)
	}
}
