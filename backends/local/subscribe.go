package local

import (
	"context"
	"fmt"
	"log/slog"

	"github.com/apache/pulsar-client-go/pulsar"
	pulsarlog "github.com/apache/pulsar-client-go/pulsar/log"

	"github.com/meshc/meshc/planner/plan"
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
	client, err := pulsar.NewClient(pulsar.ClientOptions{URL: o.PulsarURL,
		Logger: pulsarlog.NewLoggerWithSlog(slog.New(slog.DiscardHandler))})
	if err != nil {
		return fmt.Errorf("connecting to Pulsar at %s: %w", o.PulsarURL, err)
	}
	defer client.Close()
	for _, c := range p.Components {
		var topics []string
		for _, in := range c.Inputs {
			if !in.Pattern {
				topics = append(topics, in.Topic)
			}
		}
		if len(topics) == 0 || ctx.Err() != nil {
			continue
		}
		opts := pulsar.ConsumerOptions{Topics: topics, SubscriptionName: c.Subscription.Name,
			Type: subscriptionType(c.Subscription.Type), SubscriptionInitialPosition: pulsar.SubscriptionPositionLatest}
		if c.Subscription.Position == "earliest" {
			opts.SubscriptionInitialPosition = pulsar.SubscriptionPositionEarliest
		}
		consumer, err := client.Subscribe(opts)
		if err != nil {
			return fmt.Errorf("%s %s: subscribing to %v as %q: %w", c.Kind, c.Name, topics, c.Subscription.Name, err)
		}
		consumer.Close()
	}
	return ctx.Err()
}

func subscriptionType(t string) pulsar.SubscriptionType {
	switch t {
	case "exclusive":
		return pulsar.Exclusive
	case "failover":
		return pulsar.Failover
	case "key_shared":
		return pulsar.KeyShared
	}
	return pulsar.Shared
}
