package broker

import (
	"context"
	"crypto/rand"
	"crypto/tls"
	"encoding/hex"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/meshc/meshc/broker/internal/storage"
	"github.com/meshc/meshc/broker/internal/wire"
)

// Broker is an embedded Pulsar-protocol broker. Create it with New, run it
// with Start and stop it with Close.
type Broker struct {
	cfg Config
	log *slog.Logger

	ln      net.Listener // plain listener; nil with TLS only
	tlsLn   net.Listener // nil without TLS
	adminLn net.Listener
	tlsConf *tls.Config
	tokens  *tokenVerifier // nil: no token authentication
	sec     security       // client certificates, authorization, HTTPS admin
	admin   *http.Server
	cache   readCache // recently published entries, with a data directory (cache.go)
	// schemaPolicy is each namespace's schema compatibility strategy (schemapolicy.go).
	schemaPolicy schemaPolicies

	mu          sync.Mutex
	topics      map[string]*topic
	partitioned map[string]int
	conns       map[*conn]struct{}
	started     bool
	closed      bool

	stop       chan struct{}
	wg         sync.WaitGroup
	closeOnce  sync.Once
	closeErr   error
	namePrefix string
	nameSeq    atomic.Uint64
	// acceptErrors counts the accepts that failed and were retried (out
	// of file descriptors, a connection aborted before it was taken).
	acceptErrors atomic.Int64
	perHost      map[string]int // connections by client address, under mu
	refused      atomic.Int64   // connections over a limit
	queued       atomic.Int64   // bytes queued for clients and not yet read by them, all connections
	slowCut      atomic.Int64   // connections closed for not reading
}

// New checks cfg and returns a broker that is not yet listening.
func New(cfg Config) (*Broker, error) {
	cfg, err := cfg.withDefaults()
	if err != nil {
		return nil, err
	}
	var r [4]byte
	if _, err := rand.Read(r[:]); err != nil {
		return nil, fmt.Errorf("random producer name prefix: %w", err)
	}
	return &Broker{
		cfg: cfg, log: cfg.Logger,
		topics: map[string]*topic{}, partitioned: map[string]int{}, conns: map[*conn]struct{}{},
		perHost: map[string]int{},
		stop:    make(chan struct{}),
		// Generated producer names must not repeat across restarts, or a
		// new producer would inherit an old one's sequence ids and see its
		// messages dropped as duplicates.
		namePrefix: "standalone-" + hex.EncodeToString(r[:]),
	}, nil
}

// Start loads the data directory, binds the listeners and serves in the
// background until Close is called or ctx is done.
func (b *Broker) Start(ctx context.Context) error {
	b.mu.Lock()
	if b.started {
		b.mu.Unlock()
		return errors.New("broker already started")
	}
	b.started = true
	b.mu.Unlock()
	if err := b.loadSecurity(); err != nil {
		return err
	}
	if err := b.load(); err != nil {
		b.closeTopics()
		return err
	}
	if err := b.listen(); err != nil {
		b.closeTopics()
		return err
	}
	if b.cfg.AdminListen != "" {
		aln, err := net.Listen("tcp", b.cfg.AdminListen)
		if err != nil {
			b.closeListeners()
			b.closeTopics()
			return fmt.Errorf("admin listen on %s: %w; choose another address or stop what uses it", b.cfg.AdminListen, err)
		}
		b.adminLn = aln
		b.admin = &http.Server{Handler: b.adminHandler(), ReadHeaderTimeout: 10 * time.Second}
		b.wg.Add(1)
		go func() {
			defer b.wg.Done()
			if err := b.admin.Serve(aln); err != nil && !errors.Is(err, http.ErrServerClosed) {
				b.log.Error("admin endpoint stopped", "err", err)
			}
		}()
	}
	if err := b.serveAdminTLS(); err != nil {
		if b.admin != nil {
			b.admin.Close()
		}
		b.closeListeners()
		b.closeTopics()
		return err
	}
	b.serveListeners()
	b.wg.Add(1)
	go b.housekeeping()
	go func() {
		select {
		case <-ctx.Done():
			b.Close()
		case <-b.stop:
		}
	}()
	b.log.Info("broker started", "url", b.URL(), "tls_url", b.TLSURL(), "auth", b.cfg.AuthenticationEnabled, "admin", b.AdminURL(), "admin_tls", b.AdminTLSURL(), "data", b.cfg.DataDir, "fsync", string(b.cfg.Fsync))
	return nil
}

// listen binds the plain and TLS protocol listeners that are configured
// and starts accepting on them.
func (b *Broker) listen() error {
	if b.cfg.Listen != "" {
		ln, err := net.Listen("tcp", b.cfg.Listen)
		if err != nil {
			return fmt.Errorf("listen on %s: %w; choose another address or stop what uses it", b.cfg.Listen, err)
		}
		b.ln = ln
	}
	if b.cfg.TLSListen != "" {
		ln, err := net.Listen("tcp", b.cfg.TLSListen)
		if err != nil {
			b.closeListeners()
			return fmt.Errorf("TLS listen on %s: %w; choose another address or stop what uses it", b.cfg.TLSListen, err)
		}
		b.tlsLn = ln
	}
	return nil
}

// serveListeners accepts on the protocol listeners, once every listener
// is bound.
func (b *Broker) serveListeners() {
	for _, ln := range []net.Listener{b.ln, b.tlsLn} {
		if ln != nil {
			b.wg.Add(1)
			go b.acceptLoop(ln, ln == b.tlsLn)
		}
	}
}

func (b *Broker) closeListeners() {
	for _, ln := range []net.Listener{b.ln, b.tlsLn} {
		if ln != nil {
			ln.Close()
		}
	}
}

// Addr is the address of the plain protocol listener; nil before Start or
// with TLS only.
func (b *Broker) Addr() net.Addr {
	if b.ln == nil {
		return nil
	}
	return b.ln.Addr()
}

// URL is the service URL for Pulsar clients, "pulsar://host:port", or the
// TLS one when the broker serves TLS only.
func (b *Broker) URL() string {
	if b.ln == nil {
		return b.TLSURL()
	}
	return "pulsar://" + b.ln.Addr().String()
}

// AdminURL is the base URL of the HTTP admin endpoint, or "" without one.
func (b *Broker) AdminURL() string {
	if b.adminLn == nil {
		return ""
	}
	return "http://" + b.adminLn.Addr().String()
}

// Close stops serving, closes every connection and writes all data out.
func (b *Broker) Close() error {
	b.closeOnce.Do(func() {
		b.mu.Lock()
		b.closed = true
		conns := make([]*conn, 0, len(b.conns))
		for c := range b.conns {
			conns = append(conns, c)
		}
		b.mu.Unlock()
		close(b.stop)
		b.closeListeners()
		if b.admin != nil {
			b.admin.Close()
		}
		for _, c := range conns {
			c.nc.Close()
		}
		b.wg.Wait()
		b.closeErr = b.closeTopics()
		b.log.Info("broker stopped")
	})
	return b.closeErr
}

func (b *Broker) closeTopics() error {
	b.mu.Lock()
	defer b.mu.Unlock()
	var errs []error
	for _, t := range b.topics {
		errs = append(errs, t.close())
	}
	return errors.Join(errs...)
}

// acceptLoop serves ln; on the TLS listener every connection is wrapped in
// a TLS server whose handshake runs in the connection's goroutine.
func (b *Broker) acceptLoop(ln net.Listener, secure bool) {
	defer b.wg.Done()
	var failing acceptBackoff
	for {
		nc, err := ln.Accept()
		if errors.Is(err, net.ErrClosed) {
			return
		}
		if err != nil {
			b.acceptErrors.Add(1)
			if !failing.wait(b.log, err, b.stop) {
				return // closing
			}
			continue
		}
		failing.recovered(b.log)
		if tc, ok := nc.(*net.TCPConn); ok {
			tc.SetNoDelay(true)
		}
		if secure {
			nc = tls.Server(newPeekConn(nc), b.tlsConf)
		}
		c := newConn(b, nc, secure)
		b.mu.Lock()
		if b.closed {
			b.mu.Unlock()
			nc.Close()
			return
		}
		if why := b.overLimit(c); why != "" {
			b.mu.Unlock()
			b.refused.Add(1)
			b.log.Debug("connection refused", "remote", nc.RemoteAddr().String(), "reason", why)
			nc.Close()
			continue
		}
		b.conns[c] = struct{}{}
		b.perHost[c.host]++
		b.wg.Add(1)
		b.mu.Unlock()
		go func() {
			defer b.wg.Done()
			c.serve()
		}()
	}
}

func (b *Broker) forgetConn(c *conn) {
	b.mu.Lock()
	if _, ok := b.conns[c]; ok {
		delete(b.conns, c)
		if b.perHost[c.host]--; b.perHost[c.host] <= 0 {
			delete(b.perHost, c.host)
		}
	}
	b.mu.Unlock()
}

// overLimit says why a new connection is one too many, or "": b.mu is held.
func (b *Broker) overLimit(c *conn) string {
	switch {
	case len(b.conns) >= b.cfg.MaxConnections:
		return fmt.Sprintf("the broker has %d connections, its limit", len(b.conns))
	case b.perHost[c.host] >= b.cfg.MaxConnectionsPerHost:
		return fmt.Sprintf("%s has %d connections, the limit per host", c.host, b.perHost[c.host])
	}
	return ""
}

// QueuedBytes is how many bytes of replies and messages wait for clients
// to read them, over all connections.
func (b *Broker) QueuedBytes() int64 { return b.queued.Load() }

// SlowReadersClosed is how many connections were closed because their
// client read nothing for Config.WriteTimeout.
func (b *Broker) SlowReadersClosed() int64 { return b.slowCut.Load() }

// RefusedConnections is how many connections were closed at once for
// being over a limit.
func (b *Broker) RefusedConnections() int64 { return b.refused.Load() }

// housekeeping syncs logs, writes cursors and expires unacknowledged
// messages on a timer.
func (b *Broker) housekeeping() {
	defer b.wg.Done()
	period := b.cfg.FsyncInterval
	if b.cfg.AckTimeout > 0 {
		period = min(period, max(b.cfg.AckTimeout/4, 10*time.Millisecond))
	}
	tick := time.NewTicker(period)
	defer tick.Stop()
	lastFlush := time.Now()
	for {
		select {
		case <-b.stop:
			return
		case now := <-tick.C:
			topics := b.topicList()
			if b.cfg.AckTimeout > 0 {
				for _, t := range topics {
					for _, s := range t.subscriptions() {
						s.expire(now, b.cfg.AckTimeout)
					}
				}
			}
			if now.Sub(lastFlush) < b.cfg.FsyncInterval {
				continue
			}
			lastFlush = now
			for _, t := range topics {
				if b.cfg.Fsync == FsyncNever && t.log != nil {
					// Cursors still go out; the log is left to the OS.
					for _, s := range t.subscriptions() {
						b.logFlushError(t, s.saveCursor())
					}
					continue
				}
				b.logFlushError(t, t.flush())
			}
		}
	}
}

func (b *Broker) logFlushError(t *topic, err error) {
	if err != nil {
		b.log.Error("writing topic data failed", "topic", t.name, "err", err)
	}
}

func (b *Broker) topicList() []*topic {
	b.mu.Lock()
	defer b.mu.Unlock()
	l := make([]*topic, 0, len(b.topics))
	for _, t := range b.topics {
		l = append(l, t)
	}
	sort.Slice(l, func(i, j int) bool { return l[i].name < l[j].name })
	return l
}

// load opens every topic found in the data directory.
func (b *Broker) load() error {
	if b.cfg.DataDir == "" {
		return nil
	}
	if err := os.MkdirAll(filepath.Join(b.cfg.DataDir, "topics"), 0o755); err != nil {
		return fmt.Errorf("create data directory: %w", err)
	}
	if _, err := storage.ReadJSON(filepath.Join(b.cfg.DataDir, "partitioned.json"), &b.partitioned); err != nil {
		return err
	}
	dirs, err := os.ReadDir(filepath.Join(b.cfg.DataDir, "topics"))
	if err != nil {
		return fmt.Errorf("list topics: %w", err)
	}
	b.mu.Lock()
	defer b.mu.Unlock()
	for _, d := range dirs {
		name, err := url.QueryUnescape(d.Name())
		if err != nil || !d.IsDir() {
			continue
		}
		if _, err := b.openTopicLocked(name); err != nil {
			return err
		}
	}
	return nil
}

// topicFor returns the topic a client names, creating it on first use as
// Pulsar does by default.
func (b *Broker) topicFor(s string) (*topic, wire.ServerError, error) {
	n, err := parseTopic(s)
	if err != nil {
		return nil, wire.ServerError_InvalidTopicName, err
	}
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.closed {
		return nil, wire.ServerError_ServiceNotReady, errors.New("broker is shutting down; retry against a running broker")
	}
	t, err := b.openTopicLocked(n.String())
	if err != nil {
		return nil, wire.ServerError_PersistenceError, err
	}
	return t, 0, nil
}

func (b *Broker) openTopicLocked(name string) (*topic, error) {
	if t, ok := b.topics[name]; ok {
		return t, nil
	}
	part := int32(-1)
	if n, err := parseTopic(name); err == nil {
		if base, i, ok := n.partition(); ok && b.partitioned[base.String()] > 0 {
			part = int32(i)
		}
	}
	t, err := openTopic(b, name, part)
	if err != nil {
		return nil, err
	}
	b.topics[name] = t
	return t, nil
}

func (b *Broker) partitions(name string) int {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.partitioned[name]
}

// CreatePartitionedTopic makes name a topic of n partitions, each the topic
// name-partition-i; n may grow an existing partitioned topic but not shrink it.
func (b *Broker) CreatePartitionedTopic(name string, n int) error {
	tn, err := parseTopic(name)
	if err != nil {
		return err
	}
	if n < 1 {
		return fmt.Errorf("partitioned topic %s: need at least 1 partition, got %d", name, n)
	}
	b.mu.Lock()
	defer b.mu.Unlock()
	full := tn.String()
	if old := b.partitioned[full]; n < old {
		return fmt.Errorf("partitioned topic %s has %d partitions; partitions cannot be removed", full, old)
	}
	if t, ok := b.topics[full]; ok && t.length() > 0 {
		return fmt.Errorf("topic %s already exists without partitions; delete it or pick another name", full)
	}
	b.partitioned[full] = n
	if b.cfg.DataDir != "" {
		if err := storage.WriteJSON(filepath.Join(b.cfg.DataDir, "partitioned.json"), b.partitioned); err != nil {
			return err
		}
	}
	for i := range n {
		if _, err := b.openTopicLocked(tn.withPartition(i).String()); err != nil {
			return err
		}
	}
	return nil
}

// Compact makes the compacted view of a topic available at once, so
// compacted reads skip superseded values; it is built on first use anyway.
func (b *Broker) Compact(name string) error {
	t, _, err := b.topicFor(name)
	if err != nil {
		return err
	}
	t.compacted()
	return nil
}

func (b *Broker) newProducerName() string {
	return fmt.Sprintf("%s-%d", b.namePrefix, b.nameSeq.Add(1))
}

// topicsOf lists the topics of a namespace ("tenant/namespace").
func (b *Broker) topicsOf(namespace string) []string {
	var out []string
	for _, t := range b.topicList() {
		n, err := parseTopic(t.name)
		if err == nil && n.tenant+"/"+n.namespace == namespace {
			out = append(out, t.name)
		}
	}
	return out
}

// detachConsumer removes a consumer from its subscription; a non-durable
// subscription (a reader's) goes away with its last consumer.
func (b *Broker) detachConsumer(c *consumer) {
	if c.sub.removeConsumer(c) && !c.sub.durable {
		if err := c.sub.t.removeSubscription(c.sub); err != nil {
			b.log.Error("removing subscription failed", "err", err)
		}
	}
}

// unsubscribe deletes a subscription. Other consumers on it make that an
// error unless force is set, in which case they are closed.
func (b *Broker) unsubscribe(s *subscription, by *consumer, force bool) error {
	s.mu.Lock()
	var others []*consumer
	for _, c := range s.consumers {
		if c != by {
			others = append(others, c)
		}
	}
	if len(others) > 0 && !force {
		s.mu.Unlock()
		return fmt.Errorf("%w: subscription %s has %d other consumers; close them first", errConsumerBusy, s.name, len(others))
	}
	s.removed = true
	s.consumers = nil
	s.mu.Unlock()
	for _, c := range others {
		c.conn.closeConsumer(c)
	}
	return s.t.removeSubscription(s)
}

// errNotFound marks a topic or subscription that does not exist.
var errNotFound = errors.New("not found")

// unsubscribeByName deletes a subscription for the admin endpoint.
func (b *Broker) unsubscribeByName(topicName, sub string, force bool) error {
	t := b.existingTopic(topicName)
	if t == nil {
		return fmt.Errorf("%w: topic %s", errNotFound, topicName)
	}
	t.mu.RLock()
	s := t.subs[sub]
	t.mu.RUnlock()
	if s == nil {
		return fmt.Errorf("%w: subscription %s on %s", errNotFound, sub, t.name)
	}
	return b.unsubscribe(s, nil, force)
}

// Topics lists the names of all topics the broker holds.
func (b *Broker) Topics() []string {
	var out []string
	for _, t := range b.topicList() {
		out = append(out, t.name)
	}
	return out
}

func hasPrefixDomain(name, domain string) bool { return strings.HasPrefix(name, domain+"://") }

// Accept retries: a failing accept (out of file descriptors, a connection
// aborted before it was taken) waits, longer each time, and tries again,
// as net/http's server does; only a closed listener ends the loop.
const (
	acceptRetryMin = 5 * time.Millisecond
	acceptRetryMax = time.Second
)

// acceptBackoff is the state of one burst of failing accepts: one log
// line when it starts, one with its count when it ends.
type acceptBackoff struct {
	delay  time.Duration
	errors int
}

// wait sleeps before the next accept; false when the broker is closing.
func (a *acceptBackoff) wait(log *slog.Logger, err error, stop <-chan struct{}) bool {
	if a.errors == 0 {
		log.Warn("accepting connections fails; retrying", "err", err)
	}
	a.errors++
	a.delay = min(max(2*a.delay, acceptRetryMin), acceptRetryMax)
	select {
	case <-stop:
		return false
	case <-time.After(a.delay):
		return true
	}
}

// recovered ends a burst.
func (a *acceptBackoff) recovered(log *slog.Logger) {
	if a.errors > 0 {
		log.Info("accepting connections again", "failed accepts", a.errors)
	}
	*a = acceptBackoff{}
}

// AcceptErrors is how many accepts have failed and been retried.
func (b *Broker) AcceptErrors() int64 { return b.acceptErrors.Load() }
