package broker

import (
	"errors"
	"fmt"

	"github.com/meshc/meshc/broker/internal/wire"
)

// Producer access modes, as Pulsar's (PIP-68). A topic has any number of
// Shared producers, or one exclusive producer; each time a producer becomes
// the exclusive one, the topic's epoch goes up, and a producer that comes
// back with an older epoch has been replaced in between and is fenced.
//
//	Shared                Busy (ProducerBusy) while there is an exclusive producer or one waiting
//	Exclusive             fenced (ProducerFenced) while there is any other producer or one waiting
//	WaitForExclusive      waits, told PRODUCER_SUCCESS with producer_ready false, until the
//	                      topic has no producer; then it is the exclusive one
//	ExclusiveWithFencing  closes every other producer and fences every waiting one, then is
//	                      the exclusive one
//
// The epoch is kept in memory: after a restart it starts again from what
// the first exclusive producer brings back.

// Pulsar's access mode values (ProducerAccessMode in PulsarApi.proto).
const (
	accessShared               = 0
	accessExclusive            = 1
	accessWaitForExclusive     = 2
	accessExclusiveWithFencing = 3
)

// accessModeNames are the modes as Pulsar's stats name them.
var accessModeNames = [...]string{accessShared: "Shared", accessExclusive: "Exclusive",
	accessWaitForExclusive: "WaitForExclusive", accessExclusiveWithFencing: "ExclusiveWithFencing"}

// accessState is a topic's producers' access, under topic.mu.
type accessState struct {
	epoch     uint64
	exclusive *producer  // nil: no exclusive producer
	waiting   []*waiting // WaitForExclusive producers, first come first served
}

// waiting is a WaitForExclusive producer not yet admitted.
type waiting struct {
	p         *producer
	requestID uint64
	epoch     *uint64
}

// accessError is a refusal with the code the client acts on.
type accessError struct {
	code wire.ServerError
	msg  string
}

func (e *accessError) Error() string { return e.msg }

// admission is what addProducer decided.
type admission struct {
	epoch  uint64
	queued bool        // WaitForExclusive: wait for the topic's producers to go
	fenced []*producer // producers ExclusiveWithFencing closes
	failed []*waiting  // waiting producers it fences
}

// addProducer admits p in its access mode, or refuses it; epoch is the
// topic epoch the client brings back, if any.
func (t *topic) addProducer(p *producer, mode int32, requestID uint64, epoch *uint64) (admission, error) {
	t.mu.Lock()
	defer t.mu.Unlock()
	a := &t.access
	var ad admission
	if _, busy := t.producers[p.name]; busy {
		return ad, &accessError{wire.ServerError_ProducerBusy, fmt.Sprintf("producer %q is already connected to %s; close it or use another name", p.name, t.name)}
	}
	exclusiveName := ""
	if a.exclusive != nil {
		exclusiveName = a.exclusive.name
	}
	switch mode {
	case accessShared:
		if a.exclusive != nil || len(a.waiting) > 0 {
			return ad, &accessError{wire.ServerError_ProducerBusy, "Topic has an existing exclusive producer: " + exclusiveName}
		}
		t.producers[p.name] = p
		return admission{epoch: a.epoch}, nil
	case accessExclusive:
		switch {
		case a.exclusive != nil || len(a.waiting) > 0:
			return ad, &accessError{wire.ServerError_ProducerFenced, "Topic has an existing exclusive producer: " + exclusiveName}
		case len(t.producers) > 0:
			return ad, &accessError{wire.ServerError_ProducerFenced, "Topic has existing shared producers"}
		}
	case accessWaitForExclusive:
		if a.exclusive != nil || len(t.producers) > 0 {
			a.waiting = append(a.waiting, &waiting{p: p, requestID: requestID, epoch: epoch})
			return admission{queued: true}, nil
		}
	case accessExclusiveWithFencing:
		ad.failed, a.waiting = a.waiting, nil
		for _, q := range t.producers {
			ad.fenced = append(ad.fenced, q)
		}
		for _, q := range ad.fenced {
			delete(t.producers, q.name)
		}
		a.exclusive = nil
	default:
		return ad, &accessError{wire.ServerError_NotAllowedError, fmt.Sprintf("unknown producer access mode %d: use Shared (0), Exclusive (1), WaitForExclusive (2) or ExclusiveWithFencing (3)", mode)}
	}
	if err := t.takeExclusiveLocked(p, epoch); err != nil {
		return ad, err
	}
	ad.epoch = a.epoch
	return ad, nil
}

// takeExclusiveLocked makes p the exclusive producer with a new epoch, or
// the one it brings back, unless that epoch is behind the topic's.
func (t *topic) takeExclusiveLocked(p *producer, epoch *uint64) error {
	a := &t.access
	if epoch != nil && *epoch < a.epoch {
		return &accessError{wire.ServerError_ProducerFenced, fmt.Sprintf("Topic epoch has already moved. Current epoch: %d, Producer epoch: %d", a.epoch, *epoch)}
	}
	if epoch != nil {
		a.epoch = *epoch
	} else {
		a.epoch++
	}
	a.exclusive = p
	t.producers[p.name] = p
	return nil
}

// releaseProducer forgets a producer that closed or whose connection went,
// and admits the first waiting producer once the topic has none.
func (t *topic) releaseProducer(p *producer) {
	t.mu.Lock()
	if t.producers[p.name] == p {
		delete(t.producers, p.name)
	}
	if t.access.exclusive == p {
		t.access.exclusive = nil
	}
	t.access.waiting = dropWaiting(t.access.waiting, func(w *waiting) bool { return w.p == p })
	var next *waiting
	var err error
	for next == nil && len(t.access.waiting) > 0 && len(t.producers) == 0 {
		next, t.access.waiting = t.access.waiting[0], t.access.waiting[1:]
		if err = t.takeExclusiveLocked(next.p, next.epoch); err != nil {
			break
		}
	}
	epoch := t.access.epoch
	t.mu.Unlock()
	switch {
	case next == nil:
	case err != nil:
		next.p.conn.failWaiting(next, err)
	default:
		next.p.conn.admitWaiting(next, epoch)
	}
}

func dropWaiting(l []*waiting, drop func(*waiting) bool) []*waiting {
	out := l[:0]
	for _, w := range l {
		if !drop(w) {
			out = append(out, w)
		}
	}
	return out
}

// epoch is the topic's current epoch.
func (t *topic) epoch() uint64 {
	t.mu.RLock()
	defer t.mu.RUnlock()
	return t.access.epoch
}

func accessErrorCode(err error) wire.ServerError {
	var ae *accessError
	if errors.As(err, &ae) {
		return ae.code
	}
	return wire.ServerError_UnknownError
}

// fence closes the producers ExclusiveWithFencing replaced, and fails the
// waiting ones, as Pulsar does; their clients see ProducerFenced when they
// come back and give up.
func (c *conn) fence(ad admission) {
	for _, q := range ad.fenced {
		q.conn.closeProducer(q)
	}
	for _, w := range ad.failed {
		w.p.conn.failWaiting(w, &accessError{wire.ServerError_ProducerFenced, "Fenced out"})
	}
}

// admitWaiting makes a waiting producer the topic's exclusive one and tells
// its client, unless the connection went meanwhile.
func (c *conn) admitWaiting(w *waiting, epoch uint64) {
	c.pmu.Lock()
	delete(c.waits, w.p.id)
	gone := c.gone
	if !gone {
		c.producers[w.p.id] = w.p
	}
	c.pmu.Unlock()
	if gone {
		w.p.topic.releaseProducer(w.p)
		return
	}
	c.sendProducerSuccess(w.requestID, w.p, epoch, true)
}

// failWaiting refuses a waiting producer.
func (c *conn) failWaiting(w *waiting, err error) {
	c.pmu.Lock()
	delete(c.waits, w.p.id)
	c.pmu.Unlock()
	c.sendError(w.requestID, accessErrorCode(err), err)
}

// closeProducer tells the client the broker closed its producer.
func (c *conn) closeProducer(p *producer) {
	c.pmu.Lock()
	if c.producers[p.id] == p {
		delete(c.producers, p.id)
	}
	c.pmu.Unlock()
	id, req := p.id, uint64(0)
	c.send(&wire.BaseCommand{Type: wire.BaseCommand_CLOSE_PRODUCER.Enum(),
		CloseProducer: &wire.CommandCloseProducer{ProducerId: &id, RequestId: &req}})
}

// waitingProducers counts a topic's WaitForExclusive producers not yet
// admitted.
func (b *Broker) waitingProducers(name string) int {
	t := b.existingTopic(name)
	if t == nil {
		return 0
	}
	t.mu.RLock()
	defer t.mu.RUnlock()
	return len(t.access.waiting)
}
