package runtime

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"strings"
	"sync"
	"time"

	"github.com/apache/pulsar-client-go/pulsar"
	"github.com/meshc/meshc/runtime/codec"
)

// Effectively-once works as in Pulsar's Java instance: a failover (or
// exclusive) subscription acknowledged cumulatively, and for each input
// partition its own named producers, whose sequence ids come from the
// input message's position. After a crash the messages after the last
// acknowledgement come again, their outputs get the same producer names and
// sequence ids as before, and the broker's deduplication drops those it
// already has. SPEC.md (The instance runtime) gives the layout.

// seqOutputBits is the room in a sequence id for the outputs of one input
// entry: a batch of messages, each with any number of outputs.
const seqOutputBits = 16

// errOnceLimit stops an instance whose input goes beyond what sequence
// ids can hold; going on could drop outputs as duplicates.
var errOnceLimit = errors.New("beyond what effectively_once sequence ids hold")

// consumeOnce runs a function or sink under effectively_once. A failed send
// cannot be handed back alone under cumulative acknowledgement, so it ends
// the session: the instance subscribes again and reads from the last
// acknowledged message, and deduplication drops what was already stored.
func (in *instance) consumeOnce(ctx context.Context, f Func) error {
	backoff := 100 * time.Millisecond
	// One name for every session of this process: failover subscriptions
	// give partitions out by consumer name, so subscribing again gets the
	// same ones back.
	name := fmt.Sprintf("%s-%d-%08x", in.comp.Name, in.plan.Index, rand.Uint32())
	for {
		err := in.onceSession(ctx, f, name)
		switch {
		case errors.Is(err, errResume), errors.Is(err, errRedelivered):
			in.log.Info("reading again from the last acknowledged message", "reason", err)
		case errors.Is(err, errSend):
			in.log.Warn("an output could not be sent; reading again from the last acknowledged message", "error", err)
		default:
			return err
		}
		select {
		case <-ctx.Done():
			return nil
		case <-time.After(backoff):
		}
		backoff = min(2*backoff, 10*time.Second)
	}
}

// onceSession is one subscription's life under effectively_once.
type onceSession struct {
	in       *instance
	consumer pulsar.Consumer
	stop     context.CancelCauseFunc

	mu    sync.Mutex
	parts map[string]*oncePart // by the input partition's topic
}

// oncePart is one input partition: the entry being processed, its outputs
// so far, its producers, and its messages not yet acknowledged, in order.
type oncePart struct {
	topic         string
	ledger, entry int64
	batch         int32                     // the index in its batch of the entry's last message admitted
	size          int32                     // the entry's messages
	unbatched     bool                      // outputs go one a batch, whatever the entry (see batched)
	outputs       int64                     // of the current entry; only the receiving goroutine uses it
	producers     map[onceKey]*onceProducer // for the current ledger
	queue         []*onceMsg
	sender        onceSender // the partition's, made once rather than for each message
	inactive      bool       // another consumer has the partition now
	// gap says a message of the partition was left unprocessed here since it
	// was handed over. Messages delivered before the hand-over may still be
	// queued in the client, after the gap: if the partition comes back,
	// processing them would store outputs past the gap, and the broker would
	// then drop the outputs of the gap's messages as duplicates.
	gap bool
}

type onceMsg struct {
	msg    pulsar.Message
	failed bool    // dead-lettered
	done   bool    // settled
	track  tracker // the message's sends, made with it: one allocation less

	// How the message is settled (see handle).
	s        *onceSession
	p        *oncePart
	start    time.Duration // on the metrics' clock
	inflight *sync.WaitGroup
}

// errStopping leaves a message unacknowledged when the instance stops in
// the middle of it: it comes again.
var errStopping = errors.New("stopping")

// errHandedOver leaves a message unacknowledged when another consumer took
// its partition while it was processed: the new owner processes it. Nothing
// more may be sent for the partition here, or a send stored after one that
// failed would make the broker drop the new owner's replay of the failed
// one as a duplicate.
var errHandedOver = errors.New("partition handed over to another consumer")

// errResume ends a session when a partition comes back after a gap: a new
// subscription reads from the last acknowledged message, in order.
var errResume = errors.New("partition came back after a hand-over")

// errRedelivered ends a session when messages come again in the middle of
// an entry whose outputs are being batched (see admit).
var errRedelivered = errors.New("messages delivered again in the middle of an input batch")

func (in *instance) onceSession(ctx context.Context, f Func, name string) error {
	sctx, stop := context.WithCancelCause(ctx)
	defer stop(nil)
	s := &onceSession{in: in, stop: stop, parts: map[string]*oncePart{}}
	opts, err := ConsumerOptions(in.comp)
	if err != nil {
		return err
	}
	if opts.Type != pulsar.Failover && opts.Type != pulsar.Exclusive {
		return fmt.Errorf("%s: effectively_once needs a failover or exclusive subscription, not %s: regenerate the plan with meshc", in.comp.Name, in.comp.Subscription.Type)
	}
	opts.EventListener, opts.Name = s, name
	if s.consumer, err = in.client.Subscribe(opts); err != nil {
		return fmt.Errorf("%s: subscribing to %v as %q: %w", in.comp.Name, inputNames(in.comp.Inputs), opts.SubscriptionName, err)
	}
	in.taking.Store(true)
	defer in.taking.Store(false)
	recv, stopAhead := in.readAhead(s.consumer)
	defer stopAhead()
	var inflight sync.WaitGroup
	taken := newEntries()
	for {
		msg, err := recv.Receive(sctx)
		if err != nil {
			if sctx.Err() != nil {
				break
			}
			s.close(&inflight)
			return fmt.Errorf("%s: receiving: %w", in.comp.Name, err)
		}
		taken.take(msg)
		inflight.Add(1)
		if err := s.handle(sctx, f, msg, &inflight); err != nil {
			stop(err)
		}
	}
	if cause := context.Cause(sctx); ctx.Err() == nil && cause != nil {
		s.close(&inflight) // a replay or a stop: what is in flight comes again
		return cause
	}
	in.finishEntries(ctx, recv, taken, func(ctx context.Context, msg pulsar.Message) {
		inflight.Add(1)
		if err := s.handle(ctx, f, msg, &inflight); err != nil {
			s.stop(err)
		}
	})
	in.waitGrace(&inflight)
	s.close(&inflight)
	return nil
}

// close closes the producers, which fails what they still hold, waits for
// those messages to settle, and closes the consumer, flushing its
// acknowledgements.
func (s *onceSession) close(inflight *sync.WaitGroup) {
	s.mu.Lock()
	var producers []*onceProducer
	for _, p := range s.parts {
		for _, prod := range p.producers {
			producers = append(producers, prod)
		}
		p.producers = nil
	}
	s.mu.Unlock()
	for _, prod := range producers {
		prod.close()
	}
	inflight.Wait()
	s.consumer.Close()
}

// BecameActive and BecameInactive follow the failover subscription: a
// partition that another consumer now has is no longer processed here, and
// its producers are closed so that the new owner can open them. A
// partition that comes back after a gap starts the session again.
func (s *onceSession) BecameActive(_ pulsar.Consumer, topic string, _ int32) {
	s.mu.Lock()
	defer s.mu.Unlock()
	p, ok := s.parts[topic]
	switch {
	case !ok || !p.inactive:
	case p.gap:
		s.stop(fmt.Errorf("%w: %s", errResume, topic))
	default: // nothing was skipped: what is queued follows on
		p.inactive = false
	}
}

func (s *onceSession) BecameInactive(_ pulsar.Consumer, topic string, _ int32) {
	s.mu.Lock()
	p := s.partLocked(topic)
	producers := p.producers
	p.inactive, p.producers, p.queue = true, nil, nil
	// The rest of an entry whose outputs are batched would be a batch of
	// its own here: if the partition comes back, it is read again from the
	// entry's start.
	p.gap = p.gap || p.batched() && p.batch < p.size-1
	s.mu.Unlock()
	for _, prod := range producers {
		go prod.close()
	}
}

// admit queues a message in its partition and starts counting outputs
// afresh at each new entry, or each new pass over one; it returns nil for a
// partition this consumer no longer has.
func (s *onceSession) admit(msg pulsar.Message) (*oncePart, *onceMsg) {
	s.mu.Lock()
	defer s.mu.Unlock()
	p := s.partLocked(msg.Topic())
	if p.inactive {
		p.gap = true
		return nil, nil
	}
	if p.open() && !p.continues(msg.ID()) {
		// Flushed now, the entry's outputs so far would be a batch that its
		// replay does not make: the producers close unflushed instead, and
		// a new session reads the entry again.
		s.stop(fmt.Errorf("%w: %s", errRedelivered, p.topic))
		return nil, nil
	}
	if old := p.position(msg.ID()); old != nil {
		for _, prod := range old {
			go prod.close() // waits for what it still holds
		}
	}
	m := &onceMsg{msg: msg}
	p.queue = append(p.queue, m)
	return p, m
}

// batched tells whether the entry being processed has its outputs sent as
// one batch: an entry of more than one message, of a function without
// state. A replay reads the state as the whole entry left it, so its
// outputs may differ from the first pass's; one a batch, those the broker
// has are dropped one by one, and only those.
func (p *oncePart) batched() bool { return p.size > 1 && !p.unbatched }

// open tells whether a producer holds outputs of the entry being
// processed, unflushed.
func (p *oncePart) open() bool {
	for _, prod := range p.producers {
		if prod.dirty {
			return true
		}
	}
	return false
}

// continues tells whether id is the next message of the entry being
// processed.
func (p *oncePart) continues(id pulsar.MessageID) bool {
	return id.LedgerID() == p.ledger && id.EntryID() == p.entry && id.BatchIdx() == p.batch+1
}

func (s *onceSession) partLocked(topic string) *oncePart {
	p, ok := s.parts[topic]
	if !ok {
		p = &oncePart{topic: topic, ledger: -1, unbatched: s.in.state != nil}
		s.parts[topic] = p
	}
	return p
}

// position moves the partition to a message's place. Outputs are counted
// from the start at a new entry, and at the same entry again: redelivered
// after a reconnection while the client still held it. A new ledger
// returns the producers of the old one, to be closed.
func (p *oncePart) position(id pulsar.MessageID) (old map[onceKey]*onceProducer) {
	if id.LedgerID() != p.ledger || id.EntryID() != p.entry || id.BatchIdx() <= p.batch {
		if id.LedgerID() != p.ledger {
			old, p.producers = p.producers, nil
		}
		p.ledger, p.entry, p.outputs = id.LedgerID(), id.EntryID(), 0
		p.size = id.BatchSize()
	}
	p.batch = id.BatchIdx()
	return old
}

// handle processes one message: the function, retried in place with the
// same sequence ids, then the message's outputs or its dead letter. It
// returns an error that ends the session.
func (s *onceSession) handle(ctx context.Context, f Func, msg pulsar.Message, inflight *sync.WaitGroup) error {
	in := s.in
	in.metrics.received.Add(1)
	start := in.metrics.clock()
	p, m := s.admit(msg)
	if p == nil {
		inflight.Done() // the partition's new owner processes it
		return nil
	}
	m.s, m.p, m.start, m.inflight = s, p, start, inflight
	track := &m.track
	track.to = m
	err := s.process(ctx, f, p, msg, track)
	switch {
	case err == nil, errors.Is(err, errHandedOver):
	case errors.Is(err, errSend) || errors.Is(err, errOnceLimit):
		track.seal(err)
		return err
	case ctx.Err() != nil:
		track.seal(errStopping)
		return nil
	default:
		m.failed = true
		in.countFailure(err)
		err = s.deadLetter(p, msg, err, track.add())
	}
	track.seal(err)
	if endsEntry(msg.ID()) && p.batched() {
		s.flush(ctx, p)
	}
	if errors.Is(err, errHandedOver) {
		return nil
	}
	return err
}

// flush sends the batches of an input entry's outputs, and waits until the
// client has them (see onceProducer).
func (s *onceSession) flush(ctx context.Context, p *oncePart) {
	s.mu.Lock()
	var batching []*onceProducer
	for _, prod := range p.producers {
		if prod.batching && prod.dirty {
			batching = append(batching, prod)
		}
	}
	s.mu.Unlock()
	for _, prod := range batching {
		prod.flush(ctx, s.in.gracePeriod())
	}
}

// settled settles a message once its function and sends are done.
func (m *onceMsg) settled(err error) {
	m.s.in.metrics.observe(m.start)
	m.s.settle(m.p, m, err)
	m.inflight.Done()
}

// process decodes and calls the function, up to maxRetries more times on
// an error it may recover from. Each try starts from the same output count,
// so the outputs of a failed try are sent again with the same sequence ids
// and not stored twice.
func (s *onceSession) process(ctx context.Context, f Func, p *oncePart, msg pulsar.Message, track *tracker) error {
	in := s.in
	value, err := in.decode(msg)
	if err != nil {
		return err
	}
	if in.state != nil {
		if err := s.stateReady(p); err != nil {
			return err
		}
	}
	ticket := in.ticketOf(msg)
	first, high := p.outputs, p.outputs
	defer func() { p.outputs = high }()
	for try := 0; ; try++ {
		p.outputs = first
		mctx := &msgContext{Context: ctx, in: in, msg: msg, track: track, once: s.part(p), ticket: ticket}
		inp := Input{Payload: msg.Payload(), Value: value}
		if try == 0 {
			inp.ahead = started(msg)
		}
		err = call(f, mctx, inp, mctx.emit)
		high = max(high, p.outputs)
		if err == nil || permanent(err) || errors.Is(err, errSend) || errors.Is(err, errOnceLimit) || errors.Is(err, errHandedOver) || try >= in.comp.MaxRetries {
			return err
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(time.Second):
		}
	}
}

// onceSender sends the outputs of one input partition.
type onceSender struct {
	s *onceSession
	p *oncePart
}

func (s *onceSession) part(p *oncePart) *onceSender {
	if p.sender.p == nil {
		p.sender = onceSender{s, p}
	}
	return &p.sender
}

// send encodes value for t and sends it with the next sequence id of the
// input's entry.
func (o *onceSender) send(t *target, msg *pulsar.ProducerMessage, value any, done func(error)) error {
	if err := encodeFor(t, msg, value); err != nil {
		done(nil)
		return err
	}
	return o.sendMessage(t.fqn, msg, o.p.batched(), done)
}

// sendMessage sends m to topic with the next sequence id of the input's
// entry, in batches of the entry's outputs if batch says so. What was sent
// already through the producer (a retry's outputs, a redelivered
// message's) is not sent again: it is done when what was sent is.
func (o *onceSender) sendMessage(topic string, m *pulsar.ProducerMessage, batch bool, done func(error)) error {
	prod, seq, err := o.next(topic, batch)
	if err != nil {
		done(nil)
		return err
	}
	if !prod.fresh(seq) {
		prod.after(done)
		return nil
	}
	m.SequenceID = &seq
	prod.send(m, func(err error) {
		if err != nil {
			err = fmt.Errorf("%w: to %s: %v", errSend, topic, err)
		}
		done(err)
	})
	return nil
}

// next takes the next sequence id of the input's entry, for a send to
// topic through the partition's producer.
func (o *onceSender) next(topic string, batch bool) (*onceProducer, int64, error) {
	p := o.p
	seq, err := sequenceID(p.entry, p.outputs)
	if err != nil {
		return nil, 0, fmt.Errorf("%s: input %s ledger %d entry %d: %w", o.s.in.comp.Name, p.topic, p.ledger, p.entry, err)
	}
	prod, err := o.s.producer(p, topic, batch)
	if err != nil {
		if errors.Is(err, errHandedOver) {
			return nil, 0, err
		}
		return nil, 0, fmt.Errorf("%w: %v", errSend, err)
	}
	p.outputs++
	return prod, seq, nil
}

// putState changes a key of the state through the partition's producer of
// the state topic, numbered like outputs. A change whose sequence id the
// store has read as stored (a change names its input position) was stored
// before a crash or a hand-over: it is neither applied again nor sent. So
// each input message changes state once.
func (o *onceSender) putState(s *stateStore, key string, value []byte, done func(error)) (applied bool, err error) {
	prod, seq, err := o.next(s.topic, false)
	if err != nil {
		done(nil)
		return false, err
	}
	if !prod.fresh(seq) {
		prod.after(done)
		return false, nil
	}
	s.set(key, value)
	m := s.change(key, value)
	m.SequenceID = &seq
	m.Properties[inputProperty] = inputPos{o.p.topic, o.p.ledger, seq}.String()
	prod.send(m, func(err error) {
		s.settle(key, value, err)
		if err != nil {
			err = fmt.Errorf("%w: to %s: %v", errSend, s.topic, err)
		}
		done(err)
	})
	return true, nil
}

// stateReady opens the partition's producer of the state topic before its
// first message of a ledger is processed: opening it shuts out the
// partition's previous owner, and the store then reads every change stored
// up to now, that owner's last ones included.
func (s *onceSession) stateReady(p *oncePart) error {
	_, err := s.producer(p, s.in.state.topic, false)
	if err != nil && !errors.Is(err, errHandedOver) {
		return fmt.Errorf("%w: %v", errSend, err)
	}
	return err
}

// onceProducer keeps sends and Close apart, and fails on Close what the
// client has not called back: pulsar-client-go v0.19.0 fails only the
// messages already written to the connection, and a send racing with Close
// may never call back; a message would wait for it forever.
//
// A producer sends one message a batch, or, batching, the outputs of one
// input entry (a batch of messages) as one batch. A batch is stored or
// dropped whole by deduplication, which pulsar-client-go's batches make by
// their first sequence id on Pulsar: so a batch holds one entry's outputs
// and no other's, and is the same batch again when the entry is replayed
// after a crash, dropped whole if it was stored. Its boundaries are where
// the entry ends, never a timer's (the batching delay is longer than any
// entry takes), nor a count other than the client's message limit: up to
// 1,000 outputs of an entry, or the broker's largest message, go in one batch.
type onceProducer struct {
	mu       sync.RWMutex
	closed   bool
	cancel   context.CancelFunc // stops a flush waiting when the producer closes
	ctx      context.Context
	p        pulsar.Producer
	batching bool
	dirty    bool  // sent to since the last flush; only the receiving goroutine uses it
	last     int64 // the highest sequence id stored or sent under the producer's name

	// pending holds each send's done until the client calls back or Close
	// fails it: whichever takes it out calls it. Its own lock, as a send
	// may wait (holding mu for reading) for callbacks to free room.
	pendingMu sync.Mutex
	pending   map[uint64]func(error)
	sends     uint64 // numbers the sends, for pending
}

// fresh tells whether seq is beyond what the producer's name has stored or
// sent, and counts it as sent. Only the partition's receiving goroutine
// calls it.
func (o *onceProducer) fresh(seq int64) bool {
	if seq <= o.last {
		return false
	}
	o.last = seq
	return true
}

var errProducerClosed = errors.New("producer closed")

// after calls done once what the producer was given so far is settled:
// the client calls back in the order of the sends.
func (o *onceProducer) after(done func(error)) {
	o.mu.RLock()
	defer o.mu.RUnlock()
	if o.closed {
		done(errProducerClosed)
		return
	}
	o.pendingMu.Lock()
	if prev, ok := o.pending[o.sends-1]; ok && o.sends > 0 {
		o.pending[o.sends-1] = func(err error) { prev(err); done(err) }
		o.pendingMu.Unlock()
		return
	}
	o.pendingMu.Unlock()
	done(nil)
}

// flush sends the batch being made and waits until the broker has it, so
// that no later output joins it. A stop (ctx done) lets it finish, within
// the grace period, so that the entry is settled; closing the producer
// ends it.
func (o *onceProducer) flush(ctx context.Context, grace time.Duration) {
	o.dirty = false
	fctx, cancel := context.WithCancel(context.WithoutCancel(ctx))
	defer cancel()
	defer context.AfterFunc(o.ctx, cancel)()
	defer context.AfterFunc(ctx, func() { time.AfterFunc(grace, cancel) })()
	// An error fails the batch's sends, which end the session; the batch
	// stays an entry's whole.
	o.p.FlushWithCtx(fctx)
}

func (o *onceProducer) send(m *pulsar.ProducerMessage, done func(error)) {
	o.mu.RLock()
	defer o.mu.RUnlock()
	if o.closed {
		done(errProducerClosed)
		return
	}
	o.dirty = o.batching
	o.pendingMu.Lock()
	id := o.sends
	o.sends++
	if o.pending == nil {
		o.pending = map[uint64]func(error){}
	}
	o.pending[id] = done
	o.pendingMu.Unlock()
	o.p.SendAsync(context.Background(), m, func(_ pulsar.MessageID, _ *pulsar.ProducerMessage, err error) {
		if done := o.take(id); done != nil {
			done(err)
		}
	})
}

// take takes a send's done out of pending, or nil if it was taken.
func (o *onceProducer) take(id uint64) func(error) {
	o.pendingMu.Lock()
	defer o.pendingMu.Unlock()
	done, ok := o.pending[id]
	if ok {
		delete(o.pending, id)
	}
	return done
}

// close fails what the producer still holds and waits for it.
func (o *onceProducer) close() {
	o.cancel()
	o.mu.Lock()
	o.closed = true
	o.mu.Unlock()
	o.p.Close()
	o.pendingMu.Lock()
	pending := o.pending
	o.pending = nil
	o.pendingMu.Unlock()
	for _, done := range pending {
		done(errProducerClosed)
	}
}

// sequenceID is an output's sequence id: the input's entry in the high
// bits and the output's number within the entry in the low ones. The ledger
// is in the producer's name, so ids only have to rise within one ledger.
func sequenceID(entry, output int64) (int64, error) {
	switch {
	case output >= 1<<seqOutputBits:
		return 0, fmt.Errorf("%w: more than %d outputs from one input entry (a batch); send smaller batches or use at_least_once", errOnceLimit, 1<<seqOutputBits)
	case entry < 0 || entry >= 1<<(63-seqOutputBits):
		return 0, fmt.Errorf("%w: entry id %d", errOnceLimit, entry)
	}
	return entry<<seqOutputBits | output, nil
}

// producer returns the partition's producer for an output topic, named
// after the function, the input partition and its ledger; batch asks for
// the one that batches an entry's outputs.
func (s *onceSession) producer(p *oncePart, topic string, batch bool) (*onceProducer, error) {
	key := onceKey{topic, batch}
	s.mu.Lock()
	op, ok := p.producers[key]
	inactive := p.inactive
	s.mu.Unlock()
	switch {
	case inactive:
		return nil, errHandedOver
	case ok:
		return op, nil
	}
	name := onceProducerName(s.in.comp.FQFN, p.topic, p.ledger)
	// One message a batch unless batching an entry's outputs (see
	// onceProducer). (Not DisableBatching: in pulsar-client-go v0.19.0
	// unbatched sends race with a reconnection.)
	opts := pulsar.ProducerOptions{Topic: topic, Name: name, BatchingMaxMessages: 1, SendTimeout: -1, Schema: s.in.declaredSchema(topic)}
	if batch {
		opts.Name += onceBatchSuffix
		opts.BatchingMaxMessages, opts.BatchingMaxSize, opts.BatchingMaxPublishDelay = 0, onceBatchBytes, onceBatchDelay
	}
	var (
		prod pulsar.Producer
		err  error
	)
	backoff := 100 * time.Millisecond
	// The partition's previous owner may still hold the name for a moment.
	for deadline := time.Now().Add(30 * time.Second); ; {
		if prod, err = s.in.client.CreateProducer(opts); err == nil || time.Now().After(deadline) || s.inactive(p) {
			break
		}
		time.Sleep(backoff)
		backoff = min(2*backoff, 2*time.Second)
	}
	if err != nil {
		if s.inactive(p) {
			return nil, errHandedOver
		}
		return nil, fmt.Errorf("opening producer %q on %s: %w", name, topic, err)
	}
	last := int64(-1)
	if st := s.in.state; st != nil && topic == st.topic {
		if last, err = st.appliedThrough(p.topic, p.ledger); err != nil {
			prod.Close()
			return nil, err
		}
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if p.inactive { // handed over while the producer opened
		go prod.Close()
		return nil, errHandedOver
	}
	if p.producers == nil {
		p.producers = map[onceKey]*onceProducer{}
	}
	op = &onceProducer{p: prod, last: last, batching: batch}
	op.ctx, op.cancel = context.WithCancel(context.Background())
	p.producers[key] = op
	return op, nil
}

// The producer batching an entry's outputs has a name of its own: the
// deduplication of its batches is apart from that of single messages.
const onceBatchSuffix = "@batches"

// onceBatchDelay is longer than any entry's outputs take: only the entry's
// end closes a batch. onceBatchBytes is more than a broker takes in one
// message, so the broker's limit closes a batch before it.
const (
	onceBatchDelay = 24 * time.Hour
	onceBatchBytes = 1 << 30
)

// onceKey names a partition's producer: its topic, and whether it batches.
type onceKey struct {
	topic string
	batch bool
}

func (s *onceSession) inactive(p *oncePart) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	return p.inactive
}

// onceProducerName names the producer of one function's outputs from one
// input partition's ledger.
func onceProducerName(fqfn, input string, ledger int64) string {
	input = strings.TrimPrefix(strings.TrimPrefix(input, "persistent://"), "non-persistent://")
	return fmt.Sprintf("%s@%s@%d", fqfn, input, ledger)
}

// settle marks a message done and acknowledges cumulatively the last of
// the partition's messages that are done in order. A failed send ends the
// session instead: the messages from the failed one on come again.
func (s *onceSession) settle(p *oncePart, m *onceMsg, err error) {
	s.mu.Lock()
	if errors.Is(err, errHandedOver) || err != nil && p.inactive {
		p.gap = true // the partition's new owner processes it again
		s.mu.Unlock()
		return
	}
	if err != nil {
		s.mu.Unlock()
		s.stop(err)
		return
	}
	if !m.failed {
		s.in.metrics.processed.Add(1)
	}
	m.done = true
	var last *onceMsg
	for len(p.queue) > 0 && p.queue[0].done {
		if endsEntry(p.queue[0].msg.ID()) {
			last = p.queue[0]
		}
		p.queue = p.queue[1:]
	}
	s.mu.Unlock()
	if last != nil {
		s.consumer.AckCumulative(last.msg)
	}
}

// endsEntry tells the last message of a batch, or an unbatched one: only
// those are acknowledged. A cumulative acknowledgement inside a batch makes
// pulsar-client-go acknowledge the entry before, and before the first
// entry that is entry -1, which not every broker reads as "nothing".
func endsEntry(id pulsar.MessageID) bool {
	return id.BatchSize() <= 1 || id.BatchIdx() >= id.BatchSize()-1
}

// deadLetter sends a message that failed for good to its dead-letter
// topic, through the partition's producer for it, so that it too is stored
// once.
func (s *onceSession) deadLetter(p *oncePart, msg pulsar.Message, cause error, done func(error)) error {
	in := s.in
	in.quiet.log(in.log, slog.LevelWarn, "dead-lettering message", "id", msg.ID().String(), "topic", msg.Topic(), "error", cause)
	return s.part(p).sendMessage(in.deadLetterTopic(msg), deadLetterMessage(in.comp, msg, cause), false, func(err error) {
		if err == nil {
			in.metrics.deadLettered.Add(1)
		}
		done(err)
	})
}

// permanent tells errors that retrying cannot help.
func permanent(err error) bool {
	return errors.Is(err, codec.ErrPayload) || errors.Is(err, ErrBadInput) || errors.Is(err, errOutput)
}

// countFailure counts a failed message as what it is: bad input (a
// payload that does not decode, an input the function calls bad), a
// failure of the runtime (a send), or the function's error (its own, or an
// output its topic refuses).
func (in *instance) countFailure(err error) {
	switch {
	case errors.Is(err, codec.ErrPayload) || errors.Is(err, ErrBadInput):
		in.metrics.badInput.Add(1)
	case errors.Is(err, errSend):
		in.metrics.systemErrors.Add(1)
	default:
		in.metrics.userErrors.Add(1)
	}
}
