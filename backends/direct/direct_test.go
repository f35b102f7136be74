package direct

import (
	"context"
	"errors"
	"log/slog"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/meshc/meshc/broker"
	"github.com/meshc/meshc/internal/brokertest"
	"github.com/meshc/meshc/internal/testpki"
	"github.com/meshc/meshc/planner/plan"
	"github.com/meshc/meshc/runtime"
)

// wordPlan is a mesh of one split_words and one word_count, with its
// instances run in this process on the embedded broker, as if deployed.
func wordPlan(t *testing.T, conn runtime.Connection) *plan.Plan {
	t.Helper()
	sentences, words, counts := brokertest.Topic("sentences"), brokertest.Topic("words"), brokertest.Topic("counts")
	str := plan.Schema{Type: "string"}
	comp := func(name, impl, in, out string, state bool) plan.Component {
		return plan.Component{Kind: plan.Function, Name: name, FQFN: "public/default/" + name,
			Implementation: plan.Implementation{Kind: "builtin", Name: impl},
			Inputs:         []plan.Input{{Topic: in, Schema: str}}, Output: &plan.Output{Topic: out, Schema: plan.Schema{Type: "json"}},
			Subscription: plan.Subscription{Name: name, Type: "shared", Position: "earliest"},
			Guarantee:    plan.AtLeastOnce, Replicas: plan.Replicas{Count: 1}, MaxRetries: 1, State: state}
	}
	split := comp("split", "split_words", sentences, words, false)
	split.Output.Schema = str
	p := &plan.Plan{APIVersion: plan.APIVersion, Mesh: plan.Mesh{Name: "wc", Tenant: "public", Namespace: "default"},
		Components: []plan.Component{split, comp("count", "word_count", words, counts, true)}}
	for i := range p.Components {
		ctx, cancel := context.WithCancel(context.Background())
		done := make(chan error, 1)
		in := &plan.Instance{APIVersion: plan.APIVersion, Mesh: p.Mesh, Component: p.Components[i]}
		go func() {
			done <- runtime.Run(ctx, runtime.Options{Plan: in, PulsarURL: conn.URL, Connection: conn, Registry: runtime.Builtins(),
				Logger: slog.New(slog.DiscardHandler)})
		}()
		t.Cleanup(func() { cancel(); <-done })
	}
	return p
}

func TestTriggerAndState(t *testing.T) {
	b := brokertest.Start(t, broker.Config{})
	checkTriggerAndState(t, runtime.Connection{URL: b.URL()})
}

// TestSecuredPulsar runs the same on a broker that speaks TLS only and
// wants a token: instances and tools alike reach it with the CA and the
// token file, and a tool without the token is refused.
func TestSecuredPulsar(t *testing.T) {
	pki := testpki.New(t)
	secret, token := testpki.Tokens(t, "meshc")
	b := brokertest.Start(t, broker.Config{TLSListen: "127.0.0.1:0", TLSCertFile: pki.CertFile, TLSKeyFile: pki.KeyFile,
		AuthenticationEnabled: true, AuthTokenSecretKeyFile: secret})
	conn := runtime.Connection{URL: b.TLSURL(), TrustCertsFile: pki.CAFile, TokenFile: token}
	checkTriggerAndState(t, conn)

	plain := runtime.Connection{URL: b.TLSURL(), TrustCertsFile: pki.CAFile}
	c, err := Dial(plain)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	if _, err := QueryState(ctx, c, &plan.Plan{Mesh: plan.Mesh{Name: "wc", Tenant: "public", Namespace: "default"},
		Components: []plan.Component{{Kind: plan.Function, Name: "count", State: true}}}, "count", "the"); err == nil {
		t.Error("a client without the token read state")
	}
	for _, bad := range []runtime.Connection{
		{URL: b.TLSURL(), TrustCertsFile: "/nonexistent/ca.pem"},
		{URL: b.TLSURL(), TokenFile: "/nonexistent/token"},
		{URL: "pulsar://127.0.0.1:1", TrustCertsFile: pki.CAFile},
	} {
		if _, err := bad.ClientOptions(); err == nil {
			t.Errorf("%+v: no error", bad)
		}
	}
}

func checkTriggerAndState(t *testing.T, conn runtime.Connection) {
	t.Helper()
	c, err := Dial(conn)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	p := wordPlan(t, conn)
	ctx := context.Background()
	sent, outs, err := Trigger(ctx, c, p, "split", "", "The fox saw the dog", 20*time.Second)
	if err != nil || !strings.Contains(sent, "sentences") {
		t.Fatalf("trigger split: %q, %v", sent, err)
	}
	if diff := cmp.Diff([]string{"the", "fox", "saw", "the", "dog"}, outs); diff != "" {
		t.Errorf("split's outputs, keyed by word, found by their trace (-want +got):\n%s", diff)
	}
	eventually(t, func() bool {
		st, err := QueryState(ctx, c, p, "count", "the")
		return err == nil && st.NumberValue != nil && *st.NumberValue == 2
	})
	if err := PutState(ctx, c, p, "count", "fox", "41", false); err != nil {
		t.Fatal(err)
	}
	eventually(t, func() bool {
		_, outs, err := Trigger(ctx, c, p, "count", "", "fox", 5*time.Second)
		return err == nil && len(outs) == 1 && outs[0] == `{"count":42,"word":"fox"}`
	})
	if _, err := QueryState(ctx, c, p, "count", "cat"); !errors.Is(err, ErrNoKey) {
		t.Errorf("an unset key: %v, want ErrNoKey", err)
	}
	for name, want := range map[string]string{"split": "function split keeps no state", "nope": `mesh wc has no function, source or sink "nope"; it has split, count`} {
		if _, err := QueryState(ctx, c, p, name, "x"); err == nil || !strings.HasPrefix(err.Error(), want) {
			t.Errorf("querystate %s: %v, want %q", name, err, want)
		}
	}
	if err := PutState(ctx, c, p, "count", "fox", "many", true); err == nil || !strings.Contains(err.Error(), "must be an integer") {
		t.Errorf("a counter set to text: %v", err)
	}
}

func eventually(t *testing.T, ok func() bool) {
	t.Helper()
	for deadline := time.Now().Add(20 * time.Second); !ok(); time.Sleep(50 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatal("not so after 20s")
		}
	}
}
