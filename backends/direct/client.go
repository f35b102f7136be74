package direct

import (
	"fmt"
	"log/slog"
	"net"
	"net/url"
	"strings"
	"time"

	"github.com/apache/pulsar-client-go/pulsar"
	pulsarlog "github.com/apache/pulsar-client-go/pulsar/log"

	"github.com/meshc/meshc/runtime"
)

// dialTimeout bounds reaching the broker, so that a wrong URL fails soon.
const dialTimeout = 10 * time.Second

// Dial opens a Pulsar client for these operations, once a broker of the
// connection's URL answers: pulsar-client-go connects only when first
// used, and would report an unreachable cluster as a timeout of whatever
// came first.
func Dial(conn runtime.Connection) (pulsar.Client, error) {
	if err := Probe(conn.URL); err != nil {
		return nil, err
	}
	opts, err := conn.ClientOptions()
	if err != nil {
		return nil, err
	}
	opts.ConnectionTimeout, opts.OperationTimeout = dialTimeout, dialTimeout
	opts.Logger = pulsarlog.NewLoggerWithSlog(slog.New(slog.DiscardHandler))
	c, err := pulsar.NewClient(opts)
	if err != nil {
		return nil, fmt.Errorf("reaching Pulsar at %s: %w", conn.URL, err)
	}
	return c, nil
}

// Probe connects to the first broker of a service URL, so that one that
// cannot be reached is said at once, not after a client's retries.
func Probe(pulsarURL string) error {
	u, err := url.Parse(pulsarURL)
	if err != nil || (u.Scheme != "pulsar" && u.Scheme != "pulsar+ssl") || u.Host == "" {
		return fmt.Errorf("the Pulsar URL %q: want pulsar://HOST:6650 or pulsar+ssl://HOST:6651", pulsarURL)
	}
	host, _, _ := strings.Cut(u.Host, ",")
	if _, _, err := net.SplitHostPort(host); err != nil {
		port := "6650"
		if u.Scheme == "pulsar+ssl" {
			port = "6651"
		}
		host = net.JoinHostPort(host, port)
	}
	conn, err := net.DialTimeout("tcp", host, dialTimeout)
	if err != nil {
		return fmt.Errorf("cannot reach Pulsar at %s: %w: check the URL and that the cluster is reachable from here", pulsarURL, err)
	}
	return conn.Close()
}
