package local

import (
	"context"
	"fmt"
	"log/slog"

	"github.com/apache/pulsar-client-go/pulsar"
	pulsarlog "github.com/apache/pulsar-client-go/pulsar/log"

	"github.com/meshc/meshc/planner/plan"
	"github.com/meshc/meshc/runtime"
)

// subscribe makes the subscription of every function and sink on its
// inputs, at the position the plan asks, before any instance runs: a
// subscription that starts at the latest message would otherwise miss
// what a source writes before its reader is up. Pattern inputs are left to
// their instances.
func subscribe(ctx context.Context, p *plan.Plan, o Options) error {
	if o.PulsarURL == "" {
		return nil
	}
	co, err := o.connection().ClientOptions()
	if err != nil {
		return err
	}
	co.Logger = pulsarlog.NewLoggerWithSlog(slog.New(slog.DiscardHandler))
	client, err := pulsar.NewClient(co)
	if err != nil {
		return fmt.Errorf("connecting to Pulsar at %s: %w", o.PulsarURL, err)
	}
	defer client.Close()
	for i := range p.Components {
		c := &p.Components[i]
		opts, err := runtime.ConsumerOptions(c)
		if err != nil {
			return err
		}
		if len(opts.Topics) == 0 || ctx.Err() != nil {
			continue // a source, or a pattern: its instances subscribe
		}
		consumer, err := client.Subscribe(opts)
		if err != nil {
			return fmt.Errorf("%s %s: subscribing to %v as %q: %w", c.Kind, c.Name, opts.Topics, c.Subscription.Name, err)
		}
		consumer.Close()
	}
	return ctx.Err()
}
