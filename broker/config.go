package broker

import (
	"errors"
	"fmt"
	"io"
	"log/slog"
	"time"

	"github.com/meshc/meshc/broker/internal/wire"
)

// FsyncPolicy says when appended entries are synced to the disk; see the
// package documentation.
type FsyncPolicy string

// The fsync policies.
const (
	FsyncAlways   FsyncPolicy = "always"
	FsyncInterval FsyncPolicy = "interval"
	FsyncNever    FsyncPolicy = "never"
)

// Config configures a Broker. The zero value of every field but Listen
// means its default.
type Config struct {
	// Listen is the address of the Pulsar protocol listener, such as
	// "127.0.0.1:6650" or "127.0.0.1:0" for any free port. It defaults to
	// 127.0.0.1:6650 unless TLSListen is set: then empty means TLS only.
	Listen string
	// TLSListen is the address of a second protocol listener that serves
	// pulsar+ssl:// with TLSCertFile and TLSKeyFile (PEM); empty means
	// none.
	TLSListen   string
	TLSCertFile string
	TLSKeyFile  string

	// AuthenticationEnabled makes every client CONNECT with a JWT (auth
	// method "token"), as Pulsar's AuthenticationProviderToken does. The
	// token is verified with the HS256 secret in AuthTokenSecretKeyFile
	// (raw bytes, Pulsar's tokenSecretKey) and/or the RS256 public key in
	// AuthTokenPublicKeyFile (PEM or DER, Pulsar's tokenPublicKey); its
	// "sub" claim is the client's role.
	AuthenticationEnabled  bool
	AuthTokenSecretKeyFile string
	AuthTokenPublicKeyFile string
	// AuthTLS, with AuthenticationEnabled, also lets clients authenticate
	// with auth method "tls", as Pulsar's AuthenticationProviderTls does:
	// the client certificate presented on a TLS listener must chain to a
	// CA in TLSTrustCertsFile (PEM, Pulsar's tlsTrustCertsFilePath), and
	// its subject CN is the client's role. With token keys as well, each
	// client's CONNECT picks the method.
	AuthTLS           bool
	TLSTrustCertsFile string

	// AuthorizationEnabled checks what each role may do, as Pulsar's
	// PulsarAuthorizationProvider does: SuperuserRoles may do anything,
	// other roles what Grants give them on a namespace (see Grant). It
	// needs AuthenticationEnabled, so that every client has a role.
	AuthorizationEnabled bool
	SuperuserRoles       []string
	Grants               []Grant

	// AdminListen is the address of the HTTP admin endpoint; empty means
	// no admin endpoint.
	AdminListen string
	// AdminTLSListen is the address of the HTTPS admin endpoint (Pulsar's
	// webServicePortTls), served with TLSCertFile and TLSKeyFile; empty
	// means none.
	AdminTLSListen string
	// AdminRoutes are more admin calls, served by another package on the
	// admin endpoints behind the same authentication and authorization
	// (the Functions worker's /admin/v3 API).
	AdminRoutes []AdminRoute
	// DataDir holds topics, cursors and schemas; empty means in memory.
	DataDir string
	// Fsync is the log sync policy; the default is FsyncInterval.
	Fsync         FsyncPolicy
	FsyncInterval time.Duration // default 200ms
	SegmentSize   int64         // bytes per log segment file, default 64 MiB, at most 1 GiB

	// ReadCacheSize bounds the memory, shared by every topic, that keeps
	// the entries most recently published with DataDir set, so consumers
	// that keep up are served without reading the disk; others read it.
	// Default DefaultReadCacheSize (64 MiB); negative means no cache.
	ReadCacheSize int64
	// MaxBacklogBytes is each topic's backlog quota: the bytes it may hold
	// that a subscription has not acknowledged (all it holds, when it has
	// no durable subscription). A SEND past it is refused with
	// ProducerBlockedQuotaExceededException, Pulsar's producer_exception
	// policy, and so are new producers until the backlog falls to 90% of
	// it. Default DefaultMaxBacklogBytes (256 MiB) without DataDir, where
	// it bounds memory, and none with it; negative means none.
	MaxBacklogBytes int64
	// RetentionTime and RetentionSize keep acknowledged data, as Pulsar's
	// retention policies do: a chunk of entries every subscription has
	// acknowledged goes once it is older than RetentionTime or the topic
	// holds more than RetentionSize bytes. Zero (the default) keeps none,
	// negative means no limit; to keep by one limit only, set the other
	// negative. A topic without durable subscriptions keeps everything.
	RetentionTime time.Duration
	RetentionSize int64
	// MessageTTL acknowledges, on every subscription, messages published
	// longer ago than it, as Pulsar's message TTL does; zero disables it.
	MessageTTL time.Duration

	MaxMessageSize        int // largest metadata+payload accepted, default 5 MiB
	MaxProducersPerConn   int // default 1000
	MaxConsumersPerConn   int // default 1000
	MaxUnackedPerConsumer int // messages delivered but not acknowledged before dispatch pauses, default 50000
	// MaxPendingBytesPerConn bounds the replies and messages queued for a
	// connection that the client has not read yet (written to the socket
	// or not): above it the broker stops dispatching to that connection
	// and stops reading from it until the client catches up. Default 8 MiB.
	MaxPendingBytesPerConn int
	// MaxPendingBytes bounds the same for all connections together: above
	// it, a connection with anything unread gets nothing more until it
	// has read it all. Default DefaultMaxPendingBytes (64 MiB).
	MaxPendingBytes int64
	// WriteTimeout closes a connection whose client has not read a chunk
	// of what the broker writes to it for this long, so that a client
	// that stopped reading gives back its consumers' messages and its
	// buffers. Default DefaultWriteTimeout (30s).
	WriteTimeout time.Duration

	// AckTimeout redelivers a message not acknowledged this long after it
	// was delivered; zero disables it.
	AckTimeout time.Duration

	// MaxConnections and MaxConnectionsPerHost bound the connections the
	// broker holds, in all and from one client address: one more is closed
	// at once. Defaults 10000 and 1000.
	MaxConnections        int
	MaxConnectionsPerHost int

	// KeepAliveInterval pings a connected client quiet this long and
	// closes the connection after two intervals without a frame. Default
	// 30s, Pulsar's keepAliveIntervalSeconds.
	KeepAliveInterval time.Duration

	// ConnectTimeout closes a connection that has not sent CONNECT (TLS
	// handshake included) this long after it was accepted, so that idle
	// sockets cannot hold the broker's descriptors. Default 10s.
	ConnectTimeout time.Duration

	Logger *slog.Logger // default: discard
}

func (c Config) withDefaults() (Config, error) {
	if c.Listen == "" && c.TLSListen == "" {
		c.Listen = "127.0.0.1:6650"
	}
	if err := c.checkSecurity(); err != nil {
		return c, err
	}
	switch c.Fsync {
	case "":
		c.Fsync = FsyncInterval
	case FsyncAlways, FsyncInterval, FsyncNever:
	default:
		return c, fmt.Errorf("unknown fsync policy %q: use always, interval or never", c.Fsync)
	}
	if c.FsyncInterval <= 0 {
		c.FsyncInterval = 200 * time.Millisecond
	}
	if c.MaxMessageSize <= 0 {
		c.MaxMessageSize = 5 << 20
	}
	if c.MaxConnections <= 0 {
		c.MaxConnections = 10000
	}
	if c.MaxConnectionsPerHost <= 0 {
		c.MaxConnectionsPerHost = 1000
	}
	if c.KeepAliveInterval <= 0 {
		c.KeepAliveInterval = DefaultKeepAliveInterval
	}
	if c.ConnectTimeout <= 0 {
		c.ConnectTimeout = DefaultConnectTimeout
	}
	if c.MaxProducersPerConn <= 0 {
		c.MaxProducersPerConn = 1000
	}
	if c.MaxConsumersPerConn <= 0 {
		c.MaxConsumersPerConn = 1000
	}
	if c.MaxUnackedPerConsumer <= 0 {
		c.MaxUnackedPerConsumer = 50000
	}
	c.setStorageDefaults()
	if c.MaxPendingBytesPerConn <= 0 {
		c.MaxPendingBytesPerConn = 8 << 20
	}
	if c.MaxPendingBytes <= 0 {
		c.MaxPendingBytes = DefaultMaxPendingBytes
	}
	if c.WriteTimeout <= 0 {
		c.WriteTimeout = DefaultWriteTimeout
	}
	if c.Logger == nil {
		c.Logger = slog.New(slog.NewTextHandler(io.Discard, nil))
	}
	return c, nil
}

func (c Config) maxFrameSize() int {
	return c.MaxMessageSize + (wire.DefaultMaxFrameSize - 5<<20)
}

// checkSecurity refuses TLS, authentication and authorization settings
// that cannot work together, before any file is read.
func (c Config) checkSecurity() error {
	if err := c.checkTLS(); err != nil {
		return err
	}
	if err := c.checkAuthentication(); err != nil {
		return err
	}
	return c.checkAuthorization()
}

func (c Config) checkTLS() error {
	hasFiles := c.TLSCertFile != "" || c.TLSKeyFile != ""
	switch {
	case c.TLSListen != "" && (c.TLSCertFile == "" || c.TLSKeyFile == ""):
		return fmt.Errorf("TLS listener %s needs both a certificate and a key file", c.TLSListen)
	case c.AdminTLSListen != "" && (c.TLSCertFile == "" || c.TLSKeyFile == ""):
		return fmt.Errorf("TLS admin listener %s needs both a certificate and a key file", c.AdminTLSListen)
	case c.TLSListen == "" && c.AdminTLSListen == "" && hasFiles:
		return errors.New("TLS certificate and key given without a TLS listener address: set one, or drop them")
	}
	return nil
}

func (c Config) checkAuthentication() error {
	hasKeys := c.AuthTokenSecretKeyFile != "" || c.AuthTokenPublicKeyFile != ""
	switch {
	case c.AuthenticationEnabled && !hasKeys && !c.AuthTLS:
		return errors.New("authentication needs a secret key file (HS256) or a public key file (RS256) for tokens, or AuthTLS for client certificates")
	case !c.AuthenticationEnabled && hasKeys:
		return errors.New("token key files given but authentication is not enabled: enable it, or drop them")
	case !c.AuthenticationEnabled && c.AuthTLS:
		return errors.New("AuthTLS set but authentication is not enabled: enable it, or drop AuthTLS")
	case c.AuthTLS && c.TLSTrustCertsFile == "":
		return errors.New("TLS authentication needs TLSTrustCertsFile, the CAs client certificates must chain to")
	case c.AuthTLS && c.TLSListen == "" && c.AdminTLSListen == "":
		return errors.New("TLS authentication needs a TLS listener, where clients present their certificates: set TLSListen")
	case !c.AuthTLS && c.TLSTrustCertsFile != "":
		return errors.New("TLS trust file given but TLS authentication is not enabled: set AuthTLS, or drop it")
	}
	return nil
}

func (c Config) checkAuthorization() error {
	hasRules := len(c.SuperuserRoles) > 0 || len(c.Grants) > 0
	switch {
	case c.AuthorizationEnabled && !c.AuthenticationEnabled:
		return errors.New("authorization needs authentication, so that every client has a role: enable token or TLS authentication")
	case !c.AuthorizationEnabled && hasRules:
		return errors.New("superuser roles or grants given but authorization is not enabled: enable it, or drop them")
	}
	for _, r := range c.SuperuserRoles {
		if err := checkRole(r); err != nil {
			return fmt.Errorf("superuser role %q: %w", r, err)
		}
	}
	for _, g := range c.Grants {
		if err := g.check(); err != nil {
			return fmt.Errorf("grant %s: %w", g, err)
		}
	}
	return nil
}

// DefaultConnectTimeout is how long a new connection may take to send
// CONNECT.
const DefaultConnectTimeout = 10 * time.Second

// DefaultKeepAliveInterval is how long a connection may be quiet before
// the broker pings it.
const DefaultKeepAliveInterval = 30 * time.Second

// DefaultMaxPendingBytes is the default Config.MaxPendingBytes.
const DefaultMaxPendingBytes = 64 << 20

// DefaultWriteTimeout is how long a client may leave the broker's writes
// to it unread.
const DefaultWriteTimeout = 30 * time.Second
