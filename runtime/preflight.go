package runtime

import (
	"context"
	"fmt"
	"log/slog"
	"strings"

	"github.com/apache/pulsar-client-go/pulsar"
	plog "github.com/apache/pulsar-client-go/pulsar/log"
)

// refusedPrefix starts the line pulsar-client-go logs when the broker
// refuses a CONNECT (its handshake): it retries such a connection until
// its operation timeout, and the broker's reason is in that line only.
const refusedPrefix = "Failed to establish connection with broker: "

// Preflight connects once as the Connection says and looks topic up, so
// that credentials the broker refuses, or a role it does not let near the
// topic, are said at once with the broker's reason, instead of as a
// client's operations timing out.
func (c Connection) Preflight(ctx context.Context, topic string) error {
	opts, err := c.ClientOptions()
	if err != nil {
		return err
	}
	refused := make(chan string, 1)
	opts.Logger = plog.NewLoggerWithSlog(slog.New(refusals{Handler: slog.DiscardHandler, seen: refused}))
	client, err := pulsar.NewClient(opts)
	if err != nil {
		return fmt.Errorf("reaching Pulsar at %s: %w", c.URL, err)
	}
	defer client.Close()
	done := make(chan error, 1)
	go func() {
		_, err := client.TopicPartitions(topic)
		done <- err
	}()
	select {
	case err := <-done:
		if err != nil {
			return fmt.Errorf("the broker at %s refused a look-up of %s: %w: check the role's grants on its namespace", c.URL, topic, err)
		}
		return nil
	case why := <-refused:
		return fmt.Errorf("the broker at %s refused the connection: %s: check the credentials and the CAs", c.URL, why)
	case <-ctx.Done():
		return fmt.Errorf("the broker at %s did not answer a look-up of %s: %w", c.URL, topic, ctx.Err())
	}
}

// refusals passes a log on and picks out the broker's refusals of a
// connection.
type refusals struct {
	slog.Handler
	seen chan<- string
}

func (r refusals) Handle(ctx context.Context, rec slog.Record) error {
	if why, ok := strings.CutPrefix(rec.Message, refusedPrefix); ok {
		select {
		case r.seen <- strings.Trim(why, "'"):
		default:
		}
	}
	return r.Handler.Handle(ctx, rec)
}

func (r refusals) WithAttrs(as []slog.Attr) slog.Handler {
	return refusals{Handler: r.Handler.WithAttrs(as), seen: r.seen}
}

func (r refusals) WithGroup(name string) slog.Handler {
	return refusals{Handler: r.Handler.WithGroup(name), seen: r.seen}
}

// Enabled lets warnings through, where refusals are: the handler passed on
// may be one that keeps nothing.
func (r refusals) Enabled(ctx context.Context, l slog.Level) bool {
	return l >= slog.LevelWarn || r.Handler.Enabled(ctx, l)
}
