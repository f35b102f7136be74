package broker

import (
	"errors"
	"fmt"
	"math"
	"strings"
	"sync/atomic"
	"time"

	"github.com/meshc/meshc/broker/internal/wire"
)

// handle serves one command. A returned error closes the connection: it is
// only for clients that break the protocol; refusals go back as replies.
func (c *conn) handle(cmd *wire.BaseCommand, f *wire.Frame, badChecksum bool) error {
	t := cmd.GetType()
	if !c.connected && t != wire.BaseCommand_CONNECT {
		return fmt.Errorf("%w: %v before CONNECT", wire.ErrMalformed, t)
	}
	switch t {
	case wire.BaseCommand_CONNECT:
		return c.handleConnect(cmd.GetConnect())
	case wire.BaseCommand_PING:
		c.send(&wire.BaseCommand{Type: wire.BaseCommand_PONG.Enum(), Pong: &wire.CommandPong{}})
	case wire.BaseCommand_PONG:
	case wire.BaseCommand_SEND:
		return c.handleSend(cmd.GetSend(), f, badChecksum)
	case wire.BaseCommand_FLOW:
		if cons := c.consumer(cmd.GetFlow().GetConsumerId()); cons != nil {
			cons.sub.flow(cons, cmd.GetFlow().GetMessagePermits())
		}
	case wire.BaseCommand_ACK:
		c.handleAck(cmd.GetAck())
	case wire.BaseCommand_REDELIVER_UNACKNOWLEDGED_MESSAGES:
		c.handleRedeliver(cmd.GetRedeliverUnacknowledgedMessages())
	case wire.BaseCommand_PARTITIONED_METADATA:
		c.handlePartitionedMetadata(cmd.GetPartitionMetadata())
	case wire.BaseCommand_LOOKUP:
		c.handleLookup(cmd.GetLookupTopic())
	case wire.BaseCommand_PRODUCER:
		c.handleProducer(cmd.GetProducer())
	case wire.BaseCommand_SUBSCRIBE:
		c.handleSubscribe(cmd.GetSubscribe())
	case wire.BaseCommand_CLOSE_PRODUCER:
		c.handleCloseProducer(cmd.GetCloseProducer())
	case wire.BaseCommand_CLOSE_CONSUMER:
		cc := cmd.GetCloseConsumer()
		if cons, ok := c.dropConsumer(cc.GetConsumerId()); ok {
			c.b.detachConsumer(cons)
		}
		c.sendSuccess(cc.GetRequestId())
	case wire.BaseCommand_UNSUBSCRIBE:
		c.handleUnsubscribe(cmd.GetUnsubscribe())
	case wire.BaseCommand_SEEK:
		c.handleSeek(cmd.GetSeek())
	case wire.BaseCommand_GET_LAST_MESSAGE_ID:
		c.handleGetLastMessageID(cmd.GetGetLastMessageId())
	case wire.BaseCommand_GET_SCHEMA:
		c.handleGetSchema(cmd.GetGetSchema())
	case wire.BaseCommand_GET_OR_CREATE_SCHEMA:
		c.handleGetOrCreateSchema(cmd.GetGetOrCreateSchema())
	case wire.BaseCommand_GET_TOPICS_OF_NAMESPACE:
		c.handleTopicsOfNamespace(cmd.GetGetTopicsOfNamespace())
	default:
		c.log.Debug("ignoring unsupported command", "type", t.String())
	}
	return nil
}

func (c *conn) handleConnect(cmd *wire.CommandConnect) error {
	if c.connected {
		return fmt.Errorf("%w: second CONNECT", wire.ErrMalformed)
	}
	if err := c.authenticate(cmd); err != nil {
		return c.refuse(err)
	}
	c.connected = true
	c.clientVersion = cmd.GetClientVersion()
	c.nc.SetReadDeadline(time.Time{})
	go c.keepAlive()
	version := min(cmd.GetProtocolVersion(), protocolVersion)
	maxSize := int32(c.b.cfg.MaxMessageSize)
	sv := serverVersion
	c.send(&wire.BaseCommand{Type: wire.BaseCommand_CONNECTED.Enum(), Connected: &wire.CommandConnected{
		ServerVersion: &sv, ProtocolVersion: &version, MaxMessageSize: &maxSize,
	}})
	c.log.Debug("client connected", "client", cmd.GetClientVersion(), "protocol", version, "role", c.role)
	return nil
}

func (c *conn) handleSend(cmd *wire.CommandSend, f *wire.Frame, badChecksum bool) error {
	pid, seq := cmd.GetProducerId(), cmd.GetSequenceId()
	p := c.producer(pid)
	sendError := func(code wire.ServerError, err error) {
		msg := err.Error()
		c.send(&wire.BaseCommand{Type: wire.BaseCommand_SEND_ERROR.Enum(), SendError: &wire.CommandSendError{
			ProducerId: &pid, SequenceId: &seq, Error: code.Enum(), Message: &msg}})
	}
	switch {
	case !f.HasPayload:
		return fmt.Errorf("%w: SEND without a payload", wire.ErrMalformed)
	case p == nil:
		sendError(wire.ServerError_ProducerBusy, fmt.Errorf("producer %d is not open on this connection; create it first", pid))
		return nil
	case badChecksum:
		sendError(wire.ServerError_ChecksumError, wire.ErrChecksum)
		return nil
	}
	highest := cmd.GetHighestSequenceId()
	var async atomic.Bool // set once publish has returned: a later reply comes from the group commit
	defer async.Store(true)
	p.topic.publish(p.name, seq, highest, f, func(res publishResult, err error) {
		if err != nil {
			code := publishErrorCode(err) // a backlog quota refusal is no failure (retention.go)
			if code == wire.ServerError_PersistenceError {
				c.log.Error("storing message failed", "topic", p.topic.name, "err", err)
			}
			sendError(code, err)
			return
		}
		id := wire.MessageID{Ledger: ledgerID, Entry: res.entryID, Partition: p.topic.partition}
		if res.duplicate {
			id = wire.MessageID{Ledger: math.MaxUint64, Entry: math.MaxUint64, Partition: -1}
		}
		c.wmu.Lock()
		if !c.closed {
			c.out = wire.AppendSendReceipt(c.out, pid, seq, max(highest, seq), id)
			c.setQueuedLocked()
		}
		c.wmu.Unlock()
		if async.Load() {
			c.signal() // the read loop signals for replies made before publish returned
		}
	})
	return nil
}

func (c *conn) handleAck(cmd *wire.CommandAck) {
	if cons := c.consumer(cmd.GetConsumerId()); cons != nil {
		whole, parts := splitAcks(cmd.GetMessageId())
		cumulative := cmd.GetAckType() == wire.CommandAck_Cumulative
		if len(whole) > 0 || len(parts) == 0 {
			cons.sub.ack(whole, cumulative)
		}
		cons.sub.ackParts(parts, cumulative && len(whole) == 0)
	}
	if cmd.RequestId != nil {
		cid, rid := cmd.GetConsumerId(), cmd.GetRequestId()
		c.send(&wire.BaseCommand{Type: wire.BaseCommand_ACK_RESPONSE.Enum(),
			AckResponse: &wire.CommandAckResponse{ConsumerId: &cid, RequestId: &rid}})
	}
}

func (c *conn) handleRedeliver(cmd *wire.CommandRedeliverUnacknowledgedMessages) {
	cons := c.consumer(cmd.GetConsumerId())
	if cons == nil {
		return
	}
	var ids []uint64
	if len(cmd.GetMessageIds()) > 0 {
		ids = make([]uint64, 0, len(cmd.GetMessageIds()))
		for _, m := range cmd.GetMessageIds() {
			ids = append(ids, m.GetEntryId())
		}
	}
	cons.sub.redeliver(cons, ids)
}

func (c *conn) handlePartitionedMetadata(cmd *wire.CommandPartitionedTopicMetadata) {
	rid := cmd.GetRequestId()
	resp := &wire.CommandPartitionedTopicMetadataResponse{RequestId: &rid}
	name, err := parseTopic(cmd.GetTopic())
	code := wire.ServerError_InvalidTopicName
	if err == nil {
		// A Failed response, not CommandError: pulsar-client-go retries
		// a CommandError until its operation timeout.
		err, code = c.authorize(name.tenant, name.namespace, lookupActions...), wire.ServerError_AuthorizationError
	}
	if err != nil {
		resp.Response = wire.CommandPartitionedTopicMetadataResponse_Failed.Enum()
		resp.Error = code.Enum()
		msg := err.Error()
		resp.Message = &msg
	} else {
		n := uint32(c.b.partitions(name.String()))
		resp.Partitions = &n
		resp.Response = wire.CommandPartitionedTopicMetadataResponse_Success.Enum()
	}
	c.send(&wire.BaseCommand{Type: wire.BaseCommand_PARTITIONED_METADATA_RESPONSE.Enum(), PartitionMetadataResponse: resp})
}

func (c *conn) handleLookup(cmd *wire.CommandLookupTopic) {
	rid := cmd.GetRequestId()
	resp := &wire.CommandLookupTopicResponse{RequestId: &rid}
	name, err := parseTopic(cmd.GetTopic())
	code := wire.ServerError_InvalidTopicName
	if err == nil {
		err, code = c.authorize(name.tenant, name.namespace, lookupActions...), wire.ServerError_AuthorizationError
	}
	if err != nil {
		resp.Response = wire.CommandLookupTopicResponse_Failed.Enum()
		resp.Error = code.Enum()
		msg := err.Error()
		resp.Message = &msg
	} else {
		// pulsar-client-go takes brokerServiceUrlTls when it speaks TLS
		// and brokerServiceUrl otherwise; both name this connection's
		// listener, so the client stays on the scheme it came with.
		url, yes := c.serviceURL(), true
		resp.BrokerServiceUrl = &url
		if c.secure {
			resp.BrokerServiceUrlTls = &url
		}
		resp.Response = wire.CommandLookupTopicResponse_Connect.Enum()
		resp.Authoritative = &yes
	}
	c.send(&wire.BaseCommand{Type: wire.BaseCommand_LOOKUP_RESPONSE.Enum(), LookupTopicResponse: resp})
}

func (c *conn) handleProducer(cmd *wire.CommandProducer) {
	rid, pid := cmd.GetRequestId(), cmd.GetProducerId()
	if p := c.producer(pid); p != nil {
		c.sendProducerSuccess(rid, p, p.topic.epoch(), true)
		return
	}
	if n := c.producerCount(); n >= c.b.cfg.MaxProducersPerConn {
		c.sendError(rid, wire.ServerError_NotAllowedError,
			fmt.Errorf("connection has %d producers, the limit; close some or open another connection", n))
		return
	}
	if c.refuseUnauthorized(rid, c.authorizeTopic(cmd.GetTopic(), ActionProduce)) {
		return
	}
	// Creating a subscription is consuming, as Pulsar checks it.
	if cmd.GetInitialSubscriptionName() != "" && c.refuseUnauthorized(rid, c.authorizeTopic(cmd.GetTopic(), ActionConsume)) {
		return
	}
	t, code, err := c.b.topicFor(cmd.GetTopic())
	if err != nil {
		c.sendError(rid, code, err)
		return
	}
	version, err := t.useSchema(cmd.GetSchema())
	if err != nil {
		c.sendError(rid, schemaErrorCode(err), err)
		return
	}
	if err := t.checkProducer(); err != nil { // backlog quota (retention.go)
		c.sendError(rid, wire.ServerError_ProducerBlockedQuotaExceededException, err)
		return
	}
	name := cmd.GetProducerName()
	if name == "" {
		name = c.b.newProducerName()
	}
	p := newProducer(c, pid, name, t, cmd)
	p.version = version
	var epoch *uint64
	if cmd.TopicEpoch != nil {
		epoch = proto64(cmd.GetTopicEpoch())
	}
	ad, err := t.addProducer(p, cmd.GetProducerAccessMode(), rid, epoch)
	if err != nil {
		c.sendError(rid, accessErrorCode(err), err)
		return
	}
	c.fence(ad)
	if ad.queued {
		c.setWaiting(p)
		c.sendProducerSuccess(rid, p, 0, false)
		return
	}
	c.setProducer(p)
	c.createInitialSubscription(t, cmd.GetInitialSubscriptionName())
	c.sendProducerSuccess(rid, p, ad.epoch, true)
}

func schemaErrorCode(err error) wire.ServerError {
	if errors.Is(err, errIncompatibleSchema) {
		return wire.ServerError_IncompatibleSchema
	}
	return wire.ServerError_PersistenceError
}

func (c *conn) sendProducerSuccess(rid uint64, p *producer, epoch uint64, ready bool) {
	last := p.topic.lastSequence(p.name)
	name := p.name
	c.send(&wire.BaseCommand{Type: wire.BaseCommand_PRODUCER_SUCCESS.Enum(), ProducerSuccess: &wire.CommandProducerSuccess{
		RequestId: &rid, ProducerName: &name, LastSequenceId: &last, SchemaVersion: p.version,
		TopicEpoch: &epoch, ProducerReady: &ready}})
}

func (c *conn) handleCloseProducer(cmd *wire.CommandCloseProducer) {
	if p := c.dropProducer(cmd.GetProducerId()); p != nil {
		p.topic.releaseProducer(p)
	}
	c.sendSuccess(cmd.GetRequestId())
}

func (c *conn) handleSubscribe(cmd *wire.CommandSubscribe) {
	rid, cid := cmd.GetRequestId(), cmd.GetConsumerId()
	if c.consumer(cid) != nil {
		c.sendSuccess(rid)
		return
	}
	c.cmu.Lock()
	n := len(c.consumers)
	c.cmu.Unlock()
	if n >= c.b.cfg.MaxConsumersPerConn {
		c.sendError(rid, wire.ServerError_NotAllowedError,
			fmt.Errorf("connection has %d consumers, the limit; close some or open another connection", n))
		return
	}
	if c.refuseUnauthorized(rid, c.authorizeTopic(cmd.GetTopic(), ActionConsume)) {
		return
	}
	t, code, err := c.b.topicFor(cmd.GetTopic())
	if err != nil {
		c.sendError(rid, code, err)
		return
	}
	if err := t.consumerSchema(cmd.GetSchema()); err != nil {
		c.sendError(rid, schemaErrorCode(err), err)
		return
	}
	start := uint64(0)
	switch {
	case !cmd.GetDurable() && cmd.GetStartMessageId() != nil:
		start = messageIDPosition(t, cmd.GetStartMessageId())
	case cmd.GetInitialPosition() == wire.CommandSubscribe_Latest:
		start = t.length()
	}
	s, _ := t.subscription(cmd.GetSubscription(), cmd.GetSubType(), cmd.GetDurable(), start)
	cons := &consumer{id: cid, name: cmd.GetConsumerName(), priority: cmd.GetPriorityLevel(),
		conn: c, sub: s, readCompacted: cmd.GetReadCompacted(), since: time.Now(), metadata: keyValues(cmd.GetMetadata()),
		outOfOrder: cmd.GetKeySharedMeta().GetAllowOutOfOrderDelivery()}
	if cons.readCompacted {
		t.compacted()
	}
	err = s.addConsumer(cons, cmd.GetSubType(), func() {
		c.cmu.Lock()
		c.consumers[cid] = cons
		c.cmu.Unlock()
		c.sendSuccess(rid)
	})
	if err != nil {
		c.sendError(rid, wire.ServerError_ConsumerBusy, err)
	}
}

func (c *conn) handleUnsubscribe(cmd *wire.CommandUnsubscribe) {
	rid := cmd.GetRequestId()
	cons := c.consumer(cmd.GetConsumerId())
	if cons == nil {
		c.sendError(rid, wire.ServerError_ConsumerNotFound, fmt.Errorf("consumer %d is not open on this connection", cmd.GetConsumerId()))
		return
	}
	if err := c.b.unsubscribe(cons.sub, cons, cmd.GetForce()); err != nil {
		c.sendError(rid, wire.ServerError_ConsumerBusy, err)
		return
	}
	c.dropConsumer(cons.id)
	c.sendSuccess(rid)
}

func (c *conn) handleSeek(cmd *wire.CommandSeek) {
	rid := cmd.GetRequestId()
	cons := c.consumer(cmd.GetConsumerId())
	if cons == nil {
		c.sendError(rid, wire.ServerError_ConsumerNotFound, fmt.Errorf("consumer %d is not open on this connection", cmd.GetConsumerId()))
		return
	}
	t := cons.sub.t
	var pos uint64
	if cmd.MessageId != nil {
		pos = messageIDPosition(t, cmd.GetMessageId())
	} else {
		pos = t.firstAtOrAfter(cmd.GetMessagePublishTime())
	}
	detached := cons.sub.seek(pos)
	c.sendSuccess(rid)
	for _, d := range detached {
		d.conn.closeConsumer(d)
	}
}

func (c *conn) handleGetLastMessageID(cmd *wire.CommandGetLastMessageId) {
	rid := cmd.GetRequestId()
	cons := c.consumer(cmd.GetConsumerId())
	if cons == nil {
		c.sendError(rid, wire.ServerError_ConsumerNotFound, fmt.Errorf("consumer %d is not open on this connection", cmd.GetConsumerId()))
		return
	}
	t := cons.sub.t
	part := t.partition
	last := &wire.MessageIdData{LedgerId: proto64(math.MaxUint64), EntryId: proto64(math.MaxUint64), Partition: &part}
	if n := t.readable(); n > 0 {
		e, _ := t.entryAt(n - 1)
		last.LedgerId, last.EntryId = proto64(ledgerID), proto64(n-1)
		if e.numMessages > 1 {
			bi := e.numMessages - 1
			last.BatchIndex = &bi
		}
	}
	// The mark-delete position (the last entry acknowledged, -1 for none)
	// is what pulsar-client-go's reader compares with the last message
	// after a seek by time; without it the client dereferences nil.
	markDelete := cons.sub.markDeletePosition()
	c.send(&wire.BaseCommand{Type: wire.BaseCommand_GET_LAST_MESSAGE_ID_RESPONSE.Enum(),
		GetLastMessageIdResponse: &wire.CommandGetLastMessageIdResponse{RequestId: &rid, LastMessageId: last,
			ConsumerMarkDeletePosition: &wire.MessageIdData{LedgerId: proto64(ledgerID), EntryId: proto64(markDelete - 1), Partition: &part}}})
}

func proto64(v uint64) *uint64 { return &v }

func (c *conn) handleGetSchema(cmd *wire.CommandGetSchema) {
	rid := cmd.GetRequestId()
	resp := &wire.CommandGetSchemaResponse{RequestId: &rid}
	code := wire.ServerError_AuthorizationError
	err := c.authorizeTopic(cmd.GetTopic(), lookupActions...)
	var t *topic
	if err == nil {
		t, _, err = c.b.topicFor(cmd.GetTopic())
		code = wire.ServerError_TopicNotFound
	}
	if err == nil {
		var ok bool
		resp.Schema, resp.SchemaVersion, ok = t.schema(cmd.GetSchemaVersion())
		if !ok {
			err = fmt.Errorf("topic %s has no schema of that version", t.name)
		}
	}
	if err != nil {
		msg := err.Error()
		resp.ErrorCode, resp.ErrorMessage = code.Enum(), &msg
	}
	c.send(&wire.BaseCommand{Type: wire.BaseCommand_GET_SCHEMA_RESPONSE.Enum(), GetSchemaResponse: resp})
}

func (c *conn) handleGetOrCreateSchema(cmd *wire.CommandGetOrCreateSchema) {
	rid := cmd.GetRequestId()
	resp := &wire.CommandGetOrCreateSchemaResponse{RequestId: &rid}
	var t *topic
	code := wire.ServerError_AuthorizationError
	err := c.authorizeTopic(cmd.GetTopic(), ActionProduce)
	if err == nil {
		t, code, err = c.b.topicFor(cmd.GetTopic())
	}
	if err == nil {
		resp.SchemaVersion, err = t.useSchema(cmd.GetSchema())
		code = schemaErrorCode(err)
	}
	if err != nil {
		msg := err.Error()
		resp.ErrorCode, resp.ErrorMessage = code.Enum(), &msg
	}
	c.send(&wire.BaseCommand{Type: wire.BaseCommand_GET_OR_CREATE_SCHEMA_RESPONSE.Enum(), GetOrCreateSchemaResponse: resp})
}

func (c *conn) handleTopicsOfNamespace(cmd *wire.CommandGetTopicsOfNamespace) {
	rid := cmd.GetRequestId()
	if tenant, ns, ok := strings.Cut(cmd.GetNamespace(), "/"); ok && c.refuseUnauthorized(rid, c.authorize(tenant, ns, lookupActions...)) {
		return
	}
	topics := c.b.topicsOf(cmd.GetNamespace())
	c.send(&wire.BaseCommand{Type: wire.BaseCommand_GET_TOPICS_OF_NAMESPACE_RESPONSE.Enum(),
		GetTopicsOfNamespaceResponse: &wire.CommandGetTopicsOfNamespaceResponse{RequestId: &rid, Topics: topics}})
}
