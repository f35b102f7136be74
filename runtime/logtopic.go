package runtime

import (
	"bytes"
	"context"
	"log/slog"
	"sync"

	"github.com/apache/pulsar-client-go/pulsar"
)

// logTopicHandler writes what a function logs to its instance log and, one
// line a message, to the component's log topic, as Pulsar Functions do.
// A failed send to the log topic is dropped: logging never fails a message.
type logTopicHandler struct {
	slog.Handler // the instance log
	mu           *sync.Mutex
	buf          *bytes.Buffer
	line         slog.Handler // formats one record into buf
	producer     pulsar.Producer
}

func newLogTopicHandler(base slog.Handler, producer pulsar.Producer) *logTopicHandler {
	buf := &bytes.Buffer{}
	return &logTopicHandler{Handler: base, mu: &sync.Mutex{}, buf: buf,
		line: slog.NewTextHandler(buf, nil), producer: producer}
}

func (h *logTopicHandler) Handle(ctx context.Context, r slog.Record) error {
	err := h.Handler.Handle(ctx, r)
	h.mu.Lock()
	h.buf.Reset()
	h.line.Handle(ctx, r)
	line := bytes.TrimSuffix(h.buf.Bytes(), []byte("\n"))
	msg := &pulsar.ProducerMessage{Payload: bytes.Clone(line)}
	h.mu.Unlock()
	h.producer.SendAsync(context.WithoutCancel(ctx), msg, func(pulsar.MessageID, *pulsar.ProducerMessage, error) {})
	return err
}

func (h *logTopicHandler) WithAttrs(as []slog.Attr) slog.Handler {
	c := *h
	c.Handler, c.line = h.Handler.WithAttrs(as), h.line.WithAttrs(as)
	return &c
}

func (h *logTopicHandler) WithGroup(name string) slog.Handler {
	c := *h
	c.Handler, c.line = h.Handler.WithGroup(name), h.line.WithGroup(name)
	return &c
}
