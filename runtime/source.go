package runtime

import (
	"context"
	"fmt"
	"log/slog"
	"sync"

	"github.com/apache/pulsar-client-go/pulsar"
)

// srcContext is the SourceContext of a running source.
type srcContext struct {
	context.Context
	in *instance
}

func (c srcContext) Name() string                   { return c.in.comp.Name }
func (c srcContext) InstanceIndex() int             { return c.in.plan.Index }
func (c srcContext) UserConfig() map[string]any     { return c.in.config }
func (c srcContext) Secret(n string) (string, bool) { return c.in.secret(n) }
func (c srcContext) Logger() *slog.Logger           { return c.in.fnLog }

// runSource runs a source until it is done or ctx is, then waits until
// everything it emitted is stored.
func (in *instance) runSource(ctx context.Context, src SourceFunc) error {
	if in.output == nil {
		return fmt.Errorf("source %s has no output topic", in.comp.Name)
	}
	in.taking.Store(true)
	var (
		wg      sync.WaitGroup
		mu      sync.Mutex
		sendErr error
	)
	err := src(srcContext{ctx, in}, func(key string, value any, props map[string]string) error {
		payload, err := in.output.codec.Encode(value)
		if err != nil {
			return fmt.Errorf("%w: %v", errOutput, err)
		}
		wg.Add(1)
		in.metrics.received.Add(1)
		msg := &pulsar.ProducerMessage{Payload: payload, Key: key, Properties: props}
		in.output.producer.SendAsync(context.WithoutCancel(ctx), msg, func(_ pulsar.MessageID, _ *pulsar.ProducerMessage, err error) {
			defer wg.Done()
			if err != nil {
				mu.Lock()
				sendErr = err
				mu.Unlock()
				return
			}
			in.metrics.processed.Add(1)
		})
		mu.Lock()
		defer mu.Unlock()
		return sendErr
	})
	in.output.producer.FlushWithCtx(context.WithoutCancel(ctx))
	wg.Wait()
	if err == nil {
		err = sendErr
	}
	if err != nil && ctx.Err() == nil {
		return fmt.Errorf("source %s: %w", in.comp.Name, err)
	}
	return nil
}
