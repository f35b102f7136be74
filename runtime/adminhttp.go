package runtime

import (
	"fmt"
	"net/http"
	"time"

	"github.com/apache/pulsar-client-go/pulsar/auth"
)

// AdminClient is an http.Client for Pulsar's admin API (its web service)
// as the Connection says to reach it: the same CAs trusted and host name
// check, the client certificate presented, and the token or OAuth2 token
// on every request, by pulsar-client-go's own providers, as its pulsaradmin
// does.
func (c Connection) AdminClient(timeout time.Duration) (*http.Client, error) {
	opts, err := c.ClientOptions()
	if err != nil {
		return nil, err
	}
	tr := http.DefaultTransport.(*http.Transport).Clone()
	if tr.TLSClientConfig, err = c.clientTLS(); err != nil {
		return nil, err
	}
	var rt http.RoundTripper = tr
	if p, ok := opts.Authentication.(auth.Provider); ok {
		if err := p.Init(); err != nil {
			return nil, fmt.Errorf("authenticating to Pulsar's admin API: %w", err)
		}
		if err := p.WithTransport(tr); err != nil {
			return nil, fmt.Errorf("authenticating to Pulsar's admin API: %w", err)
		}
		rt = p
	}
	return &http.Client{Transport: rt, Timeout: timeout}, nil
}
