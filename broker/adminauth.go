package broker

import (
	"errors"
	"fmt"
	"net"
	"net/http"
	"strings"
	"time"
)

// adminReadHeaderTimeout bounds how long an admin client may take to send
// its request headers, so idle connections cannot pile up.
const adminReadHeaderTimeout = 10 * time.Second

// adminNeed is what an admin call needs of the caller's role when
// authorization is on. Superusers may make every call.
type adminNeed int

const (
	needRole      adminNeed = iota // any authenticated role
	needSuperuser                  // tenant and namespace administration
	needConsume                    // consume on the path's namespace: topic reads, subscriptions
	needProduce                    // produce on the path's namespace: creating topics, compaction
)

// guard authenticates an admin request, when authentication is on, and
// checks that the role may make it, when authorization is on. A request
// without valid credentials is answered 401, one its role may not make
// 403, both in Pulsar's {"reason": ...} shape.
func (b *Broker) guard(need adminNeed, h http.HandlerFunc) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		if !b.cfg.AuthenticationEnabled {
			h(w, r)
			return
		}
		role, err := b.adminRole(r)
		if err != nil {
			w.Header().Set("WWW-Authenticate", `Bearer realm="pulsar"`)
			writeError(w, http.StatusUnauthorized, fmt.Errorf("%w: %w", errAuthentication, err))
			return
		}
		if err := b.adminAllowed(role, need, r); err != nil {
			b.log.Warn("admin call refused", "method", r.Method, "path", r.URL.Path, "reason", err)
			writeError(w, http.StatusForbidden, err)
			return
		}
		h(w, r)
	}
}

// adminRole authenticates an admin request as Pulsar's web service does: by
// its "Authorization: Bearer TOKEN" header, else by its client certificate.
func (b *Broker) adminRole(r *http.Request) (string, error) {
	if h := r.Header.Get("Authorization"); h != "" {
		token, ok := strings.CutPrefix(h, "Bearer ")
		switch {
		case b.tokens == nil:
			return "", fmt.Errorf("token authentication is not enabled; %s", b.adminCredentials())
		case !ok:
			return "", errors.New(`the Authorization header must be "Bearer TOKEN"`)
		}
		return b.tokens.verify(strings.TrimSpace(token))
	}
	if b.sec.clientCAs != nil && r.TLS != nil && len(r.TLS.PeerCertificates) > 0 {
		return verifyClientCert(b.sec.clientCAs, r.TLS.PeerCertificates)
	}
	return "", fmt.Errorf("%w: %s", errNoCredentials, b.adminCredentials())
}

// adminCredentials says what an admin request must carry.
func (b *Broker) adminCredentials() string {
	var ways []string
	if b.tokens != nil {
		ways = append(ways, `send "Authorization: Bearer TOKEN"`)
	}
	if b.sec.clientCAs != nil {
		ways = append(ways, "present a client certificate to "+b.AdminTLSURL())
	}
	return strings.Join(ways, " or ")
}

// adminAllowed returns why role may not make the call, or nil.
func (b *Broker) adminAllowed(role string, need adminNeed, r *http.Request) error {
	a := b.sec.authz
	switch need {
	case needSuperuser:
		return a.checkSuperuser(role, "administer tenants and namespaces")
	case needConsume:
		return a.check(role, r.PathValue("tenant"), r.PathValue("namespace"), ActionConsume)
	case needProduce:
		return a.check(role, r.PathValue("tenant"), r.PathValue("namespace"), ActionProduce)
	}
	return nil
}

// serveAdminTLS serves the admin endpoint over HTTPS on AdminTLSListen, as
// Pulsar's webServicePortTls, with the protocol listener's certificate;
// it stops when the broker closes.
func (b *Broker) serveAdminTLS() error {
	if b.cfg.AdminTLSListen == "" {
		return nil
	}
	ln, err := net.Listen("tcp", b.cfg.AdminTLSListen)
	if err != nil {
		return fmt.Errorf("admin TLS listen on %s: %w; choose another address or stop what uses it", b.cfg.AdminTLSListen, err)
	}
	b.sec.adminTLS = ln
	srv := &http.Server{Handler: b.adminHandler(), ReadHeaderTimeout: adminReadHeaderTimeout, TLSConfig: b.tlsConf.Clone()}
	b.wg.Add(2)
	go func() {
		defer b.wg.Done()
		<-b.stop
		srv.Close()
	}()
	go func() {
		defer b.wg.Done()
		if err := srv.ServeTLS(ln, "", ""); err != nil && !errors.Is(err, http.ErrServerClosed) {
			b.log.Error("admin TLS endpoint stopped", "err", err)
		}
	}()
	return nil
}

// AdminTLSURL is the base URL of the HTTPS admin endpoint, or "" without
// one.
func (b *Broker) AdminTLSURL() string {
	if b.sec.adminTLS == nil {
		return ""
	}
	return "https://" + b.sec.adminTLS.Addr().String()
}
