package runtime

import (
	"context"
	"sync"

	"github.com/apache/pulsar-client-go/pulsar"
	"github.com/meshc/meshc/planner/plan"
)

var dlqMu sync.Mutex

// deadLetter sends a message that failed for good to the dead-letter topic,
// with the reason in its properties, and acknowledges it only once the
// dead-letter topic has it: if that send fails the message is redelivered.
func (in *instance) deadLetter(consumer pulsar.Consumer, msg pulsar.Message, cause error, acked bool, inflight *sync.WaitGroup) {
	t, err := in.deadLetterTarget(msg)
	if err != nil {
		in.log.Error("cannot open the dead-letter topic; the message will be redelivered", "error", err)
		if !acked {
			consumer.Nack(msg)
		}
		inflight.Done()
		return
	}
	t.producer.SendAsync(context.Background(), deadLetterMessage(in.comp, msg, cause), func(_ pulsar.MessageID, _ *pulsar.ProducerMessage, err error) {
		switch {
		case err != nil:
			in.log.Error("dead-letter send failed; the message will be redelivered", "error", err)
			if !acked {
				consumer.Nack(msg)
			}
		default:
			in.metrics.deadLettered.Add(1)
			if !acked {
				consumer.Ack(msg)
			}
		}
		inflight.Done()
	})
}

// deadLetterTarget opens the dead-letter producer on first use. Without a
// dead_letter topic in the mesh, it is Pulsar's default name,
// INPUT-SUBSCRIPTION-DLQ.
func (in *instance) deadLetterTarget(msg pulsar.Message) (*target, error) {
	dlqMu.Lock()
	defer dlqMu.Unlock()
	topic := in.deadLetterTopic(msg)
	if t, ok := in.dlq[topic]; ok {
		return t, nil
	}
	t, err := in.target(plan.Output{Topic: topic, Schema: plan.Schema{Type: "bytes"}})
	if err != nil {
		return nil, err
	}
	if in.dlq == nil {
		in.dlq = map[string]*target{}
	}
	in.dlq[topic] = t
	return t, nil
}

// deadLetterTopic is where msg goes when it fails for good.
func (in *instance) deadLetterTopic(msg pulsar.Message) string {
	if in.comp.DeadLetterTopic != "" {
		return in.comp.DeadLetterTopic
	}
	// Pulsar's default: one dead-letter topic per input topic.
	return partitionSuffix.ReplaceAllString(msg.Topic(), "") + "-" + in.comp.Subscription.Name + "-DLQ"
}

// deadLetterMessage is msg as it goes to the dead-letter topic: unchanged,
// with the reason and its origin in its properties.
func deadLetterMessage(c *plan.Component, msg pulsar.Message, cause error) *pulsar.ProducerMessage {
	props := map[string]string{
		"meshc-error": cause.Error(), "meshc-origin-topic": msg.Topic(), "meshc-origin-id": msg.ID().String(),
		"meshc-function": c.Name,
	}
	for k, v := range msg.Properties() {
		props[k] = v
	}
	return &pulsar.ProducerMessage{Payload: msg.Payload(), Key: msg.Key(), Properties: props, EventTime: msg.EventTime()}
}

// serial runs functions one after the other, in the order given, on a
// goroutine of its own while there are any.
type serial struct {
	mu      sync.Mutex
	queue   []func()
	running bool
}

func (s *serial) do(f func()) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.queue = append(s.queue, f)
	if !s.running {
		s.running = true
		go s.run()
	}
}

func (s *serial) run() {
	for {
		s.mu.Lock()
		if len(s.queue) == 0 {
			s.running = false
			s.mu.Unlock()
			return
		}
		f := s.queue[0]
		s.queue = s.queue[1:]
		s.mu.Unlock()
		f()
	}
}
