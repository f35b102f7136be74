package external_test

import (
	"context"
	"fmt"
	"path/filepath"
	"testing"
	"time"

	"github.com/apache/pulsar-client-go/pulsar"
	"github.com/meshc/meshc/planner/plan"
	"github.com/meshc/meshc/runtime"
	"github.com/meshc/meshc/runtime/external"
	"github.com/meshc/meshc/runtime/wasm"
	"github.com/meshc/meshc/runtime/wasm/wasmtest"
)

// form is a function in one form, for benchmarks.
type form struct {
	name string
	impl plan.Implementation
}

// identities are the identity function in each form.
func identities(b *testing.B) []form {
	script, _ := filepath.Abs("testdata/identity.py")
	helper, _ := filepath.Abs("python")
	b.Setenv("PYTHONPATH", helper)
	return []form{
		{"go", plan.Implementation{Kind: "builtin", Name: "identity"}},
		{"python", plan.Implementation{Kind: "exec", Command: []string{"python3", script}}},
		{"wasm", plan.Implementation{Kind: "wasm", Module: wasmtest.Build(b, "../wasm/testdata/identity")}},
	}
}

// BenchmarkIdentity runs one instance of the identity function in each
// form on the embedded broker, and measures messages per second from
// producer to consumer. Compare the forms with -benchtime=5000x. The
// stateful Python form counts each message and reads the counter back, so
// its calls are made one at a time.
func BenchmarkIdentity(b *testing.B) {
	tag, _ := filepath.Abs("testdata/tag.py")
	stateful := form{"python-stateful", plan.Implementation{Kind: "exec", Command: []string{"python3", tag}}}
	for _, id := range append(identities(b), stateful) {
		b.Run(id.name, func(b *testing.B) {
			br := startBroker(b)
			c := client(b, br)
			in, out := topic("in"), topic("out")
			comp := component("id", id.impl, in, out)
			comp.State = id.name == stateful.name
			comp.Config = plan.Config{{Key: "count", Value: comp.State}}
			run(b, br, comp, quiet)
			r := reader(b, c, out)
			produce(b, c, in, "warm up")
			next(b, r)
			payloads := make([]string, b.N)
			for i := range payloads {
				payloads[i] = fmt.Sprintf("message %d", i)
			}
			p, err := c.CreateProducer(pulsar.ProducerOptions{Topic: in})
			if err != nil {
				b.Fatal(err)
			}
			defer p.Close()
			b.ResetTimer()
			for _, s := range payloads {
				p.SendAsync(context.Background(), &pulsar.ProducerMessage{Payload: []byte(s)}, nil)
			}
			for range b.N {
				next(b, r)
			}
			b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "msgs/s")
		})
	}
}

// BenchmarkCall measures what running a function outside Go adds to one
// message: one call at a time, from the runtime's side of the pipe to the
// function and back. The Go form is a plain call of the built-in.
func BenchmarkCall(b *testing.B) {
	ctx := &benchMsg{Context: context.Background()}
	payload := []byte("a message of some forty bytes, or so...")
	emit := func([]byte) error { return nil }
	for _, id := range identities(b) {
		b.Run(id.name, func(b *testing.B) {
			call := start(b, id.impl)
			b.ResetTimer()
			for range b.N {
				if err := call(ctx, payload, emit); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

type callFunc func(ctx external.Context, payload []byte, emit func([]byte) error) error

func start(b *testing.B, impl plan.Implementation) callFunc {
	inst := &plan.Instance{APIVersion: plan.APIVersion, Component: plan.Component{Name: "id", Implementation: impl,
		Sandbox: &plan.Sandbox{Memory: 64 << 20, Time: plan.Duration(10 * time.Second)}}}
	switch impl.Kind {
	case "exec":
		r, err := external.Exec(context.Background(), inst, quiet, nil)
		if err != nil {
			b.Fatal(err)
		}
		b.Cleanup(func() { r.Close() })
		return r.Call
	case "wasm":
		f, err := wasm.New(context.Background(), inst, quiet, nil)
		if err != nil {
			b.Fatal(err)
		}
		b.Cleanup(func() { f.Close() })
		return f.Call
	}
	var identity runtime.Func = func(_ runtime.Context, in runtime.Input, emit runtime.Emit) error { return emit(in.Payload) }
	return func(_ external.Context, payload []byte, emit func([]byte) error) error {
		return identity(nil, runtime.Input{Payload: payload}, func(v any) error { return emit(v.([]byte)) })
	}
}

type benchMsg struct{ context.Context }

func (benchMsg) InputTopic() string                       { return "in" }
func (benchMsg) MessageID() string                        { return "1:1:0" }
func (benchMsg) Key() string                              { return "" }
func (benchMsg) Properties() map[string]string            { return nil }
func (benchMsg) EventTime() time.Time                     { return time.Time{} }
func (benchMsg) IncrCounter(string, int64) (int64, error) { return 0, nil }
func (benchMsg) GetCounter(string) (int64, error)         { return 0, nil }
func (benchMsg) PutState(string, []byte) error            { return nil }
func (benchMsg) GetState(string) ([]byte, bool, error)    { return nil, false, nil }
func (benchMsg) DeleteState(string) error                 { return nil }
func (benchMsg) Publish(string, any) error                { return nil }
