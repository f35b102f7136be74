package main

import (
	"cmp"
	"context"
	"fmt"
	"log/slog"
	"os/signal"
	"strings"
	"syscall"
	"time"

	"github.com/spf13/cobra"

	"github.com/meshc/meshc/broker"
	"github.com/meshc/meshc/broker/worker"
)

func newBrokerCmd() *cobra.Command {
	var (
		cfg      broker.Config
		fsync    string
		logLevel string
		grants   []string
		fw       functionsWorkerFlags
	)
	cmd := &cobra.Command{
		Use:   "broker",
		Short: "Run the embedded Pulsar-protocol broker",
		Long: `broker runs meshc's embedded broker, which speaks the Pulsar binary protocol:
point any Pulsar client at pulsar://ADDRESS. It serves until SIGINT or SIGTERM.

With --data the topics, subscription cursors and schemas are kept in DIR and
survive a restart; memory holds an index (8 bytes a stored entry) and the
--read-cache-size cache of recent messages, and consumers further behind read
the disk. Without --data everything is in memory, and --max-backlog-bytes
bounds what each topic holds unacknowledged: a send past it is refused with
ProducerBlockedQuotaExceededException (Pulsar's producer_exception policy).

Messages every subscription has acknowledged are dropped a log segment (in
memory, a chunk of up to 1 MiB) at a time, unless --retention-time and
--retention-size keep them, as Pulsar's retention does: they go once older
than the time or while the topic is over the size (negative: no limit).
--message-ttl acknowledges older messages on every subscription. A topic
without durable subscriptions keeps everything.

Every accepted message is written to its topic's log before the producer is
told it is stored, so a crash of the broker loses no acknowledged message.
--fsync decides when the log is also synced to the disk, which matters only
if the machine fails:
  always    acknowledge after an fsync that covers the message; messages
            arriving during one fsync share the next (group commit)
  interval  sync every --fsync-interval (default); a machine failure may
            lose up to one interval of acknowledged messages
  never     leave it to the operating system

Measured here (2 cores, ext4, fsync ~150us; 100-byte messages, one
pulsar-client-go producer and consumer) the disk log costs little:
                 batched msgs/s   unbatched msgs/s
  in memory          483,000          110,000
  --fsync never      488,000           89,000
  --fsync interval   590,000          110,000
  --fsync always     487,000          100,000
and always adds about half a millisecond to the median latency. See the
embedded broker in SPEC.md for the data layout, limits and admin calls.

--tls-listen serves pulsar+ssl:// with --tls-cert and --tls-key (PEM), as
well as pulsar:// on --listen; --listen '' serves TLS only. With
--auth-token-secret-key (HS256, raw bytes) or --auth-token-public-key
(RS256, PEM or DER) every client must connect with a JWT (Pulsar's token
authentication); a missing, malformed, wrongly signed or expired token is
refused with AuthenticationError. --auth-tls with --tls-trust-certs (PEM
CAs) lets clients authenticate with a certificate instead (auth method tls,
role = the certificate's subject CN); a client without one, or with one
from another CA, is refused with AuthenticationError. With both, the
client's auth method picks.

--superuser ROLE and --grant ROLE=TENANT/NAMESPACE:ACTIONS (both
repeatable; ACTIONS a comma list of produce and consume; * for any role,
tenant or namespace) turn authorization on, as Pulsar's: superusers may do
anything, other roles produce (PRODUCER) and consume (SUBSCRIBE) where
granted, and look up topics where they may do either; anything else is
refused with AuthorizationError naming role, action and namespace. They
need authentication.

--admin-tls-listen serves the admin endpoint over HTTPS with the same
certificate (Pulsar's webServicePortTls). With authentication on, admin
calls need "Authorization: Bearer TOKEN" or a client certificate (401
otherwise); with authorization on, tenants and namespaces are for
superusers, topic reads and subscriptions need consume, topic creation and
compaction produce (403 otherwise).

--functions-worker (on by default) makes the broker a one-machine Pulsar
Functions worker: the admin endpoint serves Pulsar's /admin/v3/functions
API (pulsar-admin functions, pulsaradmin's Functions with API version v3),
and each registered Go function's instances run as local processes, started
as Pulsar's process runtime starts them (PACKAGE -instance-conf JSON). With
--data the functions, their packages and the instances' logs are kept in
DIR/functions and run again after a restart. Off, the API answers 503.
With authentication on, --functions-auth-plugin and --functions-auth-params
(Pulsar's clientAuthenticationPlugin and clientAuthenticationParameters,
such as token and file:///PATH) are how the worker's own calls and its
instances authenticate.
See "The embedded Functions worker" in SPEC.md.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			var level slog.Level
			if err := level.UnmarshalText([]byte(logLevel)); err != nil {
				return usageErrorf("--log-level %q: use debug, info, warn or error", logLevel)
			}
			switch broker.FsyncPolicy(fsync) {
			case broker.FsyncAlways, broker.FsyncInterval, broker.FsyncNever:
			default:
				return usageErrorf("--fsync %q: use always, interval or never", fsync)
			}
			cfg.Fsync = broker.FsyncPolicy(fsync)
			if err := checkSecurityFlags(&cfg, grants); err != nil {
				return err
			}
			cfg.Logger = slog.New(slog.NewTextHandler(cmd.ErrOrStderr(), &slog.HandlerOptions{Level: level}))
			w, err := fw.attach(&cfg)
			if err != nil {
				return err
			}
			return runBroker(cmd, cfg, w)
		},
	}
	f := cmd.Flags()
	f.StringVar(&cfg.Listen, "listen", "127.0.0.1:6650", "address of the Pulsar protocol listener")
	f.StringVar(&cfg.AdminListen, "admin-listen", "127.0.0.1:8080", `address of the HTTP admin endpoint ("" to disable)`)
	f.StringVar(&cfg.DataDir, "data", "", "directory for topics, cursors and schemas (default: in memory)")
	f.StringVar(&fsync, "fsync", string(broker.FsyncInterval), "when to sync logs to disk: always, interval or never")
	f.DurationVar(&cfg.FsyncInterval, "fsync-interval", 200*time.Millisecond, "sync period of the interval policy; also how often cursors are written")
	f.IntVar(&cfg.MaxMessageSize, "max-message-size", 5<<20, "largest message or batch accepted, in bytes")
	f.IntVar(&cfg.MaxConnections, "max-connections", 10000, "connections the broker holds; one more is closed at once")
	f.IntVar(&cfg.MaxConnectionsPerHost, "max-connections-per-host", 1000, "connections from one client address; one more is closed at once")
	f.IntVar(&cfg.MaxProducersPerConn, "max-producers-per-connection", 1000, "producers one connection may open")
	f.IntVar(&cfg.MaxConsumersPerConn, "max-consumers-per-connection", 1000, "consumers one connection may open")
	f.IntVar(&cfg.MaxUnackedPerConsumer, "max-unacked-per-consumer", 50000, "messages delivered but unacknowledged before a consumer gets no more")
	f.IntVar(&cfg.MaxPendingBytesPerConn, "max-pending-bytes-per-connection", 8<<20, "bytes queued for a client that does not read before the broker stops reading from it and dispatching to it")
	f.Int64Var(&cfg.MaxPendingBytes, "max-pending-bytes", broker.DefaultMaxPendingBytes, "bytes queued for all clients together; above it a connection with anything unread gets nothing more until it reads it")
	f.DurationVar(&cfg.WriteTimeout, "write-timeout", broker.DefaultWriteTimeout, "close a connection whose client has not read what the broker writes for this long")
	f.DurationVar(&cfg.AckTimeout, "ack-timeout", 0, "redeliver messages unacknowledged for this long (0: never)")
	f.Int64Var(&cfg.ReadCacheSize, "read-cache-size", broker.DefaultReadCacheSize, "bytes of recently published messages kept in memory with --data, for consumers that keep up (-1: none)")
	f.Int64Var(&cfg.MaxBacklogBytes, "max-backlog-bytes", 0, "unacknowledged bytes a topic may hold before sends are refused (0: 256 MiB in memory, no limit with --data; -1: no limit)")
	f.DurationVar(&cfg.RetentionTime, "retention-time", 0, "keep acknowledged messages this long (0: drop them; negative, e.g. -1s: no time limit)")
	f.Int64Var(&cfg.RetentionSize, "retention-size", 0, "keep acknowledged messages while a topic holds at most this many bytes (0: drop them; -1: no size limit)")
	f.DurationVar(&cfg.MessageTTL, "message-ttl", 0, "acknowledge messages published longer ago than this on every subscription (0: never)")
	f.DurationVar(&cfg.KeepAliveInterval, "keep-alive", broker.DefaultKeepAliveInterval, "ping a client quiet this long; close its connection after twice as long without a frame")
	f.DurationVar(&cfg.ConnectTimeout, "connect-timeout", broker.DefaultConnectTimeout, "close a connection that has not sent CONNECT this long after it opened")
	f.StringVar(&cfg.TLSListen, "tls-listen", "", "address of the pulsar+ssl:// listener (default: none)")
	f.StringVar(&cfg.TLSCertFile, "tls-cert", "", "PEM certificate chain of the TLS listener")
	f.StringVar(&cfg.TLSKeyFile, "tls-key", "", "PEM private key of the TLS listener")
	f.StringVar(&cfg.AuthTokenSecretKeyFile, "auth-token-secret-key", "", "require tokens signed with this HS256 secret key file")
	f.StringVar(&cfg.AuthTokenPublicKeyFile, "auth-token-public-key", "", "require tokens signed with the RS256 private key of this public key file")
	f.BoolVar(&cfg.AuthTLS, "auth-tls", false, "authenticate clients by TLS certificate (auth method tls, role = subject CN); needs --tls-trust-certs")
	f.StringVar(&cfg.TLSTrustCertsFile, "tls-trust-certs", "", "PEM CA certificates that client certificates must chain to (with --auth-tls)")
	f.StringArrayVar(&cfg.SuperuserRoles, "superuser", nil, "a role that may do anything (repeatable); turns authorization on")
	f.StringArrayVar(&grants, "grant", nil, "ROLE=TENANT/NAMESPACE:ACTIONS, ACTIONS a comma list of produce and consume, * for any (repeatable); turns authorization on")
	f.StringVar(&cfg.AdminTLSListen, "admin-tls-listen", "", "address of the HTTPS admin endpoint, served with --tls-cert and --tls-key (default: none)")
	f.StringVar(&logLevel, "log-level", "info", "log level: debug, info, warn or error")
	fw.add(f)
	return cmd
}

// checkSecurityFlags refuses security flags that cannot work together, in
// the flags' own terms, and turns authentication and authorization on when
// their flags are given.
func checkSecurityFlags(cfg *broker.Config, grants []string) error {
	if err := checkTLSFlags(cfg); err != nil {
		return err
	}
	cfg.AuthenticationEnabled = cfg.AuthTokenSecretKeyFile != "" || cfg.AuthTokenPublicKeyFile != "" || cfg.AuthTLS
	switch {
	case cfg.AuthTLS && cfg.TLSTrustCertsFile == "":
		return usageErrorf("--auth-tls needs --tls-trust-certs FILE, the CA certificates client certificates must chain to")
	case cfg.AuthTLS && cfg.TLSListen == "" && cfg.AdminTLSListen == "":
		return usageErrorf("--auth-tls needs --tls-listen (or --admin-tls-listen): clients present their certificates over TLS")
	case !cfg.AuthTLS && cfg.TLSTrustCertsFile != "":
		return usageErrorf("--tls-trust-certs is for --auth-tls: add --auth-tls, or drop --tls-trust-certs")
	}
	return parseAuthorizationFlags(cfg, grants)
}

func checkTLSFlags(cfg *broker.Config) error {
	hasFiles := cfg.TLSCertFile != "" && cfg.TLSKeyFile != ""
	switch {
	case cfg.TLSListen != "" && !hasFiles:
		return usageErrorf("--tls-listen needs --tls-cert and --tls-key")
	case cfg.AdminTLSListen != "" && !hasFiles:
		return usageErrorf("--admin-tls-listen needs --tls-cert and --tls-key")
	case cfg.TLSListen == "" && cfg.AdminTLSListen == "" && (cfg.TLSCertFile != "" || cfg.TLSKeyFile != ""):
		return usageErrorf("--tls-cert and --tls-key need --tls-listen or --admin-tls-listen")
	case cfg.Listen == "" && cfg.TLSListen == "":
		return usageErrorf("--listen is empty and there is no --tls-listen: give an address to serve on")
	}
	return nil
}

// parseAuthorizationFlags reads the grants and turns authorization on when
// there are superusers or grants.
func parseAuthorizationFlags(cfg *broker.Config, grants []string) error {
	for _, s := range grants {
		g, err := broker.ParseGrant(s)
		if err != nil {
			return usageErrorf("--grant: %v", err)
		}
		cfg.Grants = append(cfg.Grants, g)
	}
	cfg.AuthorizationEnabled = len(cfg.SuperuserRoles) > 0 || len(cfg.Grants) > 0
	if cfg.AuthorizationEnabled && !cfg.AuthenticationEnabled {
		return usageErrorf("--superuser and --grant need authentication, so that every client has a role: " +
			"add --auth-token-secret-key FILE, --auth-token-public-key FILE, or --auth-tls with --tls-trust-certs FILE")
	}
	return nil
}

// listeningURLs names every protocol listener, plain first.
func listeningURLs(b *broker.Broker) string {
	var urls []string
	if b.Addr() != nil {
		urls = append(urls, b.URL())
	}
	if u := b.TLSURL(); u != "" {
		urls = append(urls, u)
	}
	return strings.Join(urls, " and ")
}

// adminURLs names the admin endpoints, plain first.
func adminURLs(b *broker.Broker) string {
	var urls []string
	for _, u := range []string{b.AdminURL(), b.AdminTLSURL()} {
		if u != "" {
			urls = append(urls, u)
		}
	}
	return strings.Join(urls, " and ")
}

// runBroker serves until a signal arrives, then shuts down cleanly.
func runBroker(cmd *cobra.Command, cfg broker.Config, w *worker.Worker) error {
	ctx, stop := signal.NotifyContext(cmd.Context(), syscall.SIGINT, syscall.SIGTERM)
	defer stop()
	b, err := broker.New(cfg)
	if err != nil {
		return usageErrorf("%v", err)
	}
	if err := b.Start(context.WithoutCancel(ctx)); err != nil {
		return &exitError{code: exitFail, err: err}
	}
	if w != nil {
		defer w.Close()
		if err := w.Start(b.URL(), cmp.Or(b.AdminURL(), b.AdminTLSURL())); err != nil {
			b.Close()
			return &exitError{code: exitFail, err: fmt.Errorf("functions worker: %w", err)}
		}
	}
	fmt.Fprintf(cmd.OutOrStdout(), "broker listening on %s", listeningURLs(b))
	if u := adminURLs(b); u != "" {
		fmt.Fprintf(cmd.OutOrStdout(), ", admin on %s", u)
	}
	fmt.Fprintln(cmd.OutOrStdout())
	<-ctx.Done()
	if w != nil {
		w.Close() // the instances stop before the broker they use
	}
	if err := b.Close(); err != nil {
		return &exitError{code: exitFail, err: fmt.Errorf("shut down broker: %w; data written before the error is kept", err)}
	}
	return nil
}
