package runtime

import (
	"context"
	"fmt"
	"net"
	"testing"
	"time"

	"github.com/apache/pulsar-client-go/pulsar"

	"github.com/meshc/meshc/broker"
	"github.com/meshc/meshc/internal/brokertest"
	"github.com/meshc/meshc/planner/plan"
)

// TestBrokerRestartMidStream stops the broker while an instance works
// through a backlog, and starts it again on the same address and data
// directory: the instance reconnects by itself and loses nothing; under
// effectively_once it writes nothing twice either.
func TestBrokerRestartMidStream(t *testing.T) {
	for _, g := range []plan.Guarantee{plan.AtLeastOnce, plan.EffectivelyOnce} {
		t.Run(string(g), func(t *testing.T) {
			const n = 1000
			cfg := broker.Config{Listen: freeAddr(t), DataDir: t.TempDir(), Logger: brokertest.Quiet}
			// The broker that comes back closes last, after the clients.
			var again *broker.Broker
			t.Cleanup(func() {
				if again != nil {
					again.Close()
				}
			})
			b := brokertest.Start(t, cfg)
			c := client(t, b)
			in, out := topic("restart-in"), topic("restart-out")
			want := make([]string, n)
			for i := range want {
				want[i] = fmt.Sprintf("m-%d", i)
			}
			produce(t, c, in, want...)
			seen := countOutputs(t, c, out)
			f := function("slow", "Slow", in, out, str, str)
			if g == plan.EffectivelyOnce {
				f = onceFunction("slow", "Slow", in, out)
			}
			reg := NewRegistry().Func("Slow", func(_ Context, in Input, emit Emit) error {
				time.Sleep(time.Millisecond)
				return emit(in.Value)
			})
			stop := startInstance(t, b.URL(), f, reg)

			waitFor(t, func() bool { return seen.distinct() >= n/4 })
			if err := b.Close(); err != nil {
				t.Fatal(err)
			}
			stoppedAt := seen.distinct()
			time.Sleep(500 * time.Millisecond)
			again, err := broker.New(cfg)
			if err == nil {
				err = again.Start(context.Background())
			}
			if err != nil {
				t.Fatalf("the broker did not start again: %v", err)
			}
			waitFor(t, func() bool { return seen.distinct() == n })

			if err := stop(); err != nil {
				t.Error(err)
			}
			total, distinct := readAll(t, c, out)
			t.Logf("%s: broker stopped after %d of %d outputs; lost %d, duplicated %d", g, stoppedAt, n, n-distinct, total-distinct)
			if distinct != n {
				t.Errorf("%s lost %d messages", g, n-distinct)
			}
			if g == plan.EffectivelyOnce && total != distinct {
				t.Errorf("effectively_once wrote %d messages twice", total-distinct)
			}
		})
	}
}

// startInstance runs an instance; stop stops it and returns its error.
func startInstance(t *testing.T, url string, c plan.Component, reg *Registry) (stop func() error) {
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	in := &plan.Instance{APIVersion: plan.APIVersion, Mesh: plan.Mesh{Name: "m", Tenant: "public", Namespace: "default"}, Component: c}
	go func() { done <- Run(ctx, Options{Plan: in, PulsarURL: url, Registry: reg, Logger: quietLog}) }()
	return func() error {
		cancel()
		select {
		case err := <-done:
			return err
		case <-time.After(20 * time.Second):
			return fmt.Errorf("instance %s did not stop", c.Name)
		}
	}
}

// freeAddr is an address of 127.0.0.1 free now, for a broker that must
// come back on the same one.
func freeAddr(t *testing.T) string {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	return l.Addr().String()
}

// readAll reads a whole topic from its start, and counts its messages
// and their distinct payloads.
func readAll(t *testing.T, c pulsar.Client, topic string) (total, distinct int) {
	t.Helper()
	r, err := c.CreateReader(pulsar.ReaderOptions{Topic: topic, StartMessageID: pulsar.EarliestMessageID()})
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	seen := map[string]bool{}
	for r.HasNext() {
		m, err := r.Next(ctx)
		if err != nil {
			t.Fatal(err)
		}
		total++
		seen[string(m.Payload())] = true
	}
	return total, len(seen)
}
