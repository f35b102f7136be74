// Package brokertest starts the embedded broker on 127.0.0.1 for tests, and
// real pulsar-client-go clients of it, quiet and closed with the test.
package brokertest

import (
	"context"
	"fmt"
	"log/slog"
	"sync/atomic"
	"testing"

	"github.com/apache/pulsar-client-go/pulsar"
	plog "github.com/apache/pulsar-client-go/pulsar/log"

	"github.com/meshc/meshc/broker"
)

// Quiet is a logger that discards everything.
var Quiet = slog.New(slog.DiscardHandler)

// Start starts a broker on a free port of 127.0.0.1 (only TLS's when cfg
// names a TLS listener alone), in memory unless cfg says otherwise, and closes it when the test ends. A broker that cannot
// start fails the test with the reason.
func Start(t testing.TB, cfg broker.Config) *broker.Broker {
	t.Helper()
	if cfg.Listen == "" && cfg.TLSListen == "" {
		cfg.Listen = "127.0.0.1:0"
	}
	if cfg.Logger == nil {
		cfg.Logger = Quiet
	}
	b, err := broker.New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	if err := b.Start(context.Background()); err != nil {
		t.Fatalf("the embedded broker did not start: %v", err)
	}
	t.Cleanup(func() { b.Close() })
	return b
}

// Client connects a pulsar-client-go client to url, closed when the test
// ends.
func Client(t testing.TB, url string) pulsar.Client {
	t.Helper()
	c, err := pulsar.NewClient(pulsar.ClientOptions{URL: url, Logger: plog.NewLoggerWithSlog(Quiet)})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(c.Close)
	return c
}

var seq atomic.Int64

// Topic returns a full topic name of public/default that no other test of
// the process uses.
func Topic(name string) string {
	return fmt.Sprintf("persistent://public/default/%s-%d", name, seq.Add(1))
}
