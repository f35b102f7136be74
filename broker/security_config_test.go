package broker

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestSecurityConfigErrors: settings that cannot work together are
// refused by New, with what to change.
func TestSecurityConfigErrors(t *testing.T) {
	pki := newTestPKI(t)
	grant, err := ParseGrant("alice=public/default:produce")
	if err != nil {
		t.Fatal(err)
	}
	tlsOn := Config{TLSListen: "127.0.0.1:0", TLSCertFile: pki.CertFile, TLSKeyFile: pki.KeyFile}
	with := func(c Config, f func(*Config)) Config { f(&c); return c }
	for _, tc := range []struct {
		name string
		cfg  Config
		want string
	}{
		{"auth without a method", Config{AuthenticationEnabled: true}, "authentication needs a secret key file (HS256) or a public key file (RS256) for tokens, or AuthTLS"},
		{"AuthTLS without authentication", with(tlsOn, func(c *Config) { c.AuthTLS, c.TLSTrustCertsFile = true, pki.CAFile }),
			"AuthTLS set but authentication is not enabled"},
		{"AuthTLS without trust file", with(tlsOn, func(c *Config) { c.AuthenticationEnabled, c.AuthTLS = true, true }),
			"TLS authentication needs TLSTrustCertsFile"},
		{"AuthTLS without TLS listener", Config{AuthenticationEnabled: true, AuthTLS: true, TLSTrustCertsFile: pki.CAFile},
			"TLS authentication needs a TLS listener"},
		{"trust file without AuthTLS", with(tlsOn, func(c *Config) { c.TLSTrustCertsFile = pki.CAFile }),
			"TLS trust file given but TLS authentication is not enabled"},
		{"admin TLS without certificate", Config{AdminTLSListen: "127.0.0.1:0"}, "TLS admin listener 127.0.0.1:0 needs both a certificate and a key file"},
		{"authorization without authentication", Config{AuthorizationEnabled: true, SuperuserRoles: []string{"root"}},
			"authorization needs authentication, so that every client has a role"},
		{"grants without authorization", Config{Grants: []Grant{grant}}, "grants given but authorization is not enabled"},
		{"bad superuser", with(tlsOn, func(c *Config) {
			c.AuthenticationEnabled, c.AuthTLS, c.TLSTrustCertsFile, c.AuthorizationEnabled, c.SuperuserRoles = true, true, pki.CAFile, true, []string{"*"}
		}), `superuser role "*": * stands for any role in a grant only`},
		{"bad grant", with(tlsOn, func(c *Config) {
			c.AuthenticationEnabled, c.AuthTLS, c.TLSTrustCertsFile, c.AuthorizationEnabled = true, true, pki.CAFile, true
			c.Grants = []Grant{{Role: "a", Tenant: "t", Namespace: "n"}}
		}), "grant a=t/n:: no actions"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if _, err := New(tc.cfg); err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("New: %v; want %q", err, tc.want)
			}
		})
	}
}

// TestSecurityStartErrors: a certificate, key or trust file that cannot be
// used stops Start with its path and what to give instead, before anything
// listens.
func TestSecurityStartErrors(t *testing.T) {
	pki := newTestPKI(t)
	dir := t.TempDir()
	notPEM := filepath.Join(dir, "ca.txt")
	if err := os.WriteFile(notPEM, []byte("no certificates here\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	missing := filepath.Join(dir, "missing.pem")
	mtls := func(cert, key, trust string) Config {
		return Config{Listen: "127.0.0.1:0", TLSListen: "127.0.0.1:0", TLSCertFile: cert, TLSKeyFile: key,
			AuthenticationEnabled: true, AuthTLS: true, TLSTrustCertsFile: trust}
	}
	for _, tc := range []struct {
		name string
		cfg  Config
		want string
	}{
		{"missing trust file", mtls(pki.CertFile, pki.KeyFile, missing),
			"read TLS trust certificates: open " + missing + ": no such file or directory; give a readable PEM file"},
		{"trust file without certificates", mtls(pki.CertFile, pki.KeyFile, notPEM), "TLS trust certificates " + notPEM + " hold no PEM certificate"},
		{"missing key", mtls(pki.CertFile, missing, pki.CAFile), "load TLS certificate " + pki.CertFile + " and key " + missing},
		{"missing admin certificate", Config{AdminTLSListen: "127.0.0.1:0", TLSCertFile: missing, TLSKeyFile: pki.KeyFile},
			"load TLS certificate " + missing},
	} {
		t.Run(tc.name, func(t *testing.T) {
			tc.cfg.Logger = quiet
			b, err := New(tc.cfg)
			if err != nil {
				t.Fatal(err)
			}
			if err := b.Start(context.Background()); err == nil || !strings.Contains(err.Error(), tc.want) {
				b.Close()
				t.Fatalf("Start: %v; want %q", err, tc.want)
			}
		})
	}
}
