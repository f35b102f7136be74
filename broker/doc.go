// Package broker is meshc's embedded broker: a single-process server that
// speaks the Pulsar binary protocol, so any Pulsar client can produce to and
// consume from it, like Pulsar's own standalone mode.
//
// Topics are append-only logs; entries (single messages or whole batches)
// are stored and forwarded exactly as producers sent them. Subscriptions of
// every type (Exclusive, Shared, Failover, Key_Shared) keep a cursor of
// acknowledged entries. A producer's highest sequence id is kept per topic
// and producer name, and a SEND at or below it is acknowledged and dropped.
//
// With Config.DataDir set, each topic's log, its subscription cursors and
// schemas live under that directory and survive a restart; every log record
// keeps the producer name and highest sequence id it was stored under, so
// the deduplication table is rebuilt exactly from the log. Memory holds an
// index of the log (8 bytes an entry) and a read cache of the entries last
// published (Config.ReadCacheSize, shared by all topics); consumers further
// behind read the log from the disk. With no DataDir everything is in
// memory, each topic's unacknowledged bytes bounded by
// Config.MaxBacklogBytes (Pulsar's backlog quota, producer_exception).
//
// Entries every subscription has acknowledged are dropped a chunk (a log
// segment) at a time, unless Config.RetentionTime and RetentionSize keep
// them, as Pulsar's retention does; Config.MessageTTL acknowledges old
// messages. See retention.go.
//
// Fsync policy (Config.Fsync): every accepted entry is written to its log
// file with one write call before its receipt is sent, so a crash of the
// broker process never loses an acknowledged message. The policy decides
// when the operating system is told to put it on the disk, which matters
// only if the machine itself fails:
//
//	always    receipt after an fsync that covers the entry; entries that
//	          arrive while one fsync runs share the next (group commit), and
//	          consumers see an entry only once it is synced
//	interval  fsync every Config.FsyncInterval, 200ms by default (the default)
//	never     leave it to the operating system
//
// Measured here (SPEC.md has the table and the command) the disk log costs
// little: about 480,000 batched and 90,000-110,000 unbatched messages a
// second end to end under every policy, as in memory; always adds about
// half a millisecond to the median latency.
//
// Cursors are written every FsyncInterval and on Close, so after a crash a
// few acknowledged messages may be delivered again (at-least-once, as in
// Pulsar), never lost.
package broker
