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
	// AdminListen is the address of the HTTP admin endpoint; empty means
	// no admin endpoint.
	AdminListen string
	// DataDir holds topics, cursors and schemas; empty means in memory.
	DataDir string
	// Fsync is the log sync policy; the default is FsyncInterval.
	Fsync         FsyncPolicy
	FsyncInterval time.Duration // default 200ms
	SegmentSize   int64         // bytes per log segment file, default 64 MiB

	MaxMessageSize        int // largest metadata+payload accepted, default 5 MiB
	MaxProducersPerConn   int // default 1000
	MaxConsumersPerConn   int // default 1000
	MaxUnackedPerConsumer int // messages delivered but not acknowledged before dispatch pauses, default 50000
	// MaxPendingBytesPerConn bounds the replies and messages queued for a
	// connection that the client has not read yet: above it the broker
	// stops dispatching to that connection and stops reading from it
	// until the client catches up. Default 8 MiB.
	MaxPendingBytesPerConn int

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
	if c.MaxPendingBytesPerConn <= 0 {
		c.MaxPendingBytesPerConn = 8 << 20
	}
	if c.Logger == nil {
		c.Logger = slog.New(slog.NewTextHandler(io.Discard, nil))
	}
	return c, nil
}

func (c Config) maxFrameSize() int {
	return c.MaxMessageSize + (wire.DefaultMaxFrameSize - 5<<20)
}

// checkSecurity refuses TLS and authentication settings that cannot work
// together, before any file is read.
func (c Config) checkSecurity() error {
	hasFiles := c.TLSCertFile != "" || c.TLSKeyFile != ""
	switch {
	case c.TLSListen != "" && (c.TLSCertFile == "" || c.TLSKeyFile == ""):
		return fmt.Errorf("TLS listener %s needs both a certificate and a key file", c.TLSListen)
	case c.TLSListen == "" && hasFiles:
		return errors.New("TLS certificate and key given without a TLS listener address: set one, or drop them")
	}
	hasKeys := c.AuthTokenSecretKeyFile != "" || c.AuthTokenPublicKeyFile != ""
	switch {
	case c.AuthenticationEnabled && !hasKeys:
		return errors.New("token authentication needs a secret key file (HS256) or a public key file (RS256)")
	case !c.AuthenticationEnabled && hasKeys:
		return errors.New("token key files given but authentication is not enabled: enable it, or drop them")
	}
	return nil
}

// DefaultConnectTimeout is how long a new connection may take to send
// CONNECT.
const DefaultConnectTimeout = 10 * time.Second

// DefaultKeepAliveInterval is how long a connection may be quiet before
// the broker pings it.
const DefaultKeepAliveInterval = 30 * time.Second
