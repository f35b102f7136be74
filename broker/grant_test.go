package broker

import (
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

func TestParseGrant(t *testing.T) {
	for _, tc := range []struct {
		in      string
		want    Grant
		wantErr string
	}{
		{in: "alice=public/default:produce", want: Grant{"alice", "public", "default", []Action{ActionProduce}}},
		{in: "bob=acme/orders:consume,produce,consume", want: Grant{"bob", "acme", "orders", []Action{ActionProduce, ActionConsume}}},
		{in: "*=public/*:consume", want: Grant{"*", "public", "*", []Action{ActionConsume}}},
		{in: "ops=*/*:produce", want: Grant{"ops", "*", "*", []Action{ActionProduce}}},
		// Separators are taken from the right: a role may hold any of them.
		{in: "spiffe://acme/x=y=t.1/n_2-b:consume", want: Grant{"spiffe://acme/x=y", "t.1", "n_2-b", []Action{ActionConsume}}},
		{in: "alice=public/default", wantErr: "want ROLE=TENANT/NAMESPACE:ACTIONS"},
		{in: "alice:produce", wantErr: "want ROLE=TENANT/NAMESPACE:ACTIONS"},
		{in: "public/default:produce", wantErr: "want ROLE=TENANT/NAMESPACE:ACTIONS"},
		{in: "=public/default:produce", wantErr: "role: empty"},
		{in: "alice=public/default:write", wantErr: `action "write": use produce or consume`},
		{in: "alice=public/default:", wantErr: `action "": use produce or consume`},
		{in: "alice=public/default:produce,", wantErr: `action "": use produce or consume`},
		{in: "alice=/default:produce", wantErr: `tenant "": use letters`},
		{in: "alice=public/:produce", wantErr: `namespace "": use letters`},
		{in: "alice=pub lic/default:produce", wantErr: `tenant "pub lic"`},
		{in: "a\x00b=public/default:produce", wantErr: "role: has control characters"},
	} {
		t.Run(tc.in, func(t *testing.T) {
			g, err := ParseGrant(tc.in)
			if tc.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
					t.Fatalf("ParseGrant: %+v, %v; want an error with %q", g, err, tc.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(tc.want, g); diff != "" {
				t.Errorf("ParseGrant (-want +got):\n%s", diff)
			}
		})
	}
}

// FuzzGrant: ParseGrant never panics, and what it accepts prints to a
// string it reads back as the same grant.
func FuzzGrant(f *testing.F) {
	for _, s := range []string{
		"alice=public/default:produce", "*=public/*:consume,produce", "a=b=c/d/e:f:consume",
		"=/:", "alice=public/default:produce,,consume", "x=*/*:produce",
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		g, err := ParseGrant(s)
		if err != nil {
			return
		}
		again, err := ParseGrant(g.String())
		if err != nil {
			t.Fatalf("ParseGrant(%q) = %+v, whose String %q does not parse: %v", s, g, g.String(), err)
		}
		if diff := cmp.Diff(g, again); diff != "" {
			t.Fatalf("round trip of %q (-first +second):\n%s", s, diff)
		}
	})
}

func TestAuthorizerMay(t *testing.T) {
	grants := []string{"alice=public/orders:produce", "bob=public/orders:consume", "*=public/open:produce,consume", "ops=*/*:consume"}
	cfg := Config{SuperuserRoles: []string{"root"}}
	for _, s := range grants {
		g, err := ParseGrant(s)
		if err != nil {
			t.Fatal(err)
		}
		cfg.Grants = append(cfg.Grants, g)
	}
	a := newAuthorizer(cfg)
	for _, tc := range []struct {
		role, tenant, ns string
		acts             []Action
		want             bool
	}{
		{"alice", "public", "orders", []Action{ActionProduce}, true},
		{"alice", "public", "orders", []Action{ActionConsume}, false},
		{"alice", "public", "orders", lookupActions, true},
		{"alice", "public", "other", lookupActions, false},
		{"bob", "public", "orders", []Action{ActionConsume}, true},
		{"bob", "public", "orders", []Action{ActionProduce}, false},
		{"carol", "public", "open", []Action{ActionProduce}, true},
		{"carol", "acme", "open", []Action{ActionProduce}, false},
		{"ops", "acme", "anything", []Action{ActionConsume}, true},
		{"ops", "acme", "anything", []Action{ActionProduce}, false},
		{"root", "acme", "anything", []Action{ActionProduce}, true},
	} {
		if got := a.may(tc.role, tc.tenant, tc.ns, tc.acts...); got != tc.want {
			t.Errorf("may(%s, %s/%s, %v) = %v, want %v", tc.role, tc.tenant, tc.ns, tc.acts, got, tc.want)
		}
	}
	err := a.check("alice", "public", "orders", ActionConsume)
	const want = `authorization failed: role "alice" may not consume on namespace public/orders: grant alice=public/orders:consume, or use a role that may`
	if err == nil || err.Error() != want {
		t.Errorf("check: %v\nwant %s", err, want)
	}
}
