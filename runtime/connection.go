package runtime

import (
	"cmp"
	"crypto/tls"
	"crypto/x509"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/url"
	"os"
	"strconv"
	"strings"
	"time"

	"github.com/apache/pulsar-client-go/oauth2"
	"github.com/apache/pulsar-client-go/pulsar"
	"github.com/apache/pulsar-client-go/pulsar/auth"
)

// Connection says how to reach Pulsar: every client meshc makes, an
// instance's and the tools', is made from one. It names files and
// settings, never secrets, and at most one way to authenticate: a token
// file, OAuth2 client credentials, or a TLS client certificate.
type Connection struct {
	URL string
	// TrustCertsFile is the PEM bundle of the CAs a pulsar+ssl:// broker's
	// certificate must chain to; empty trusts the system's.
	TrustCertsFile string
	// NoHostnameVerification accepts a pulsar+ssl:// broker's certificate
	// whatever host it names, as long as it chains to a trusted CA. The
	// broker's host name is verified unless it is set; Warnings says so
	// when it is.
	NoHostnameVerification bool

	// TokenFile holds the JWT the client authenticates with (Pulsar's
	// token authentication). It is read again for each new connection, so
	// a token rotated in place is taken up without a restart.
	TokenFile string

	// IssuerURL, Audience, Scope and CredentialsFile are OAuth2 client
	// credentials, as pulsar-client-go's NewAuthenticationOAuth2 takes
	// them: CredentialsFile is the JSON file of client_id, client_secret
	// and optionally issuer_url (which IssuerURL overrides) and scope;
	// Scope is space-separated. The token endpoint is found by OIDC
	// discovery at the issuer. The first token is fetched when a client is
	// made, so that wrong credentials stop it at once; later ones when a
	// new connection finds the token within a minute of its expiry. The
	// credentials file is read again for each token.
	IssuerURL, Audience, Scope, CredentialsFile string

	// CertFile and KeyFile are the PEM TLS client certificate and key the
	// client authenticates with (Pulsar's TLS authentication, over
	// pulsar+ssl:// only), read again for each new connection.
	CertFile, KeyFile string

	// envErr is why ConnectionFromEnv could not read a variable;
	// ClientOptions returns it, so that an instance stops at once.
	envErr string
}

// Environment variables an instance reads its Connection from, besides
// MESHC_PULSAR_URL; deployments fill them with paths and settings, never
// secrets.
const (
	TrustCertsEnv        = "MESHC_PULSAR_TRUST_CERTS"
	NoHostnameVerifyEnv  = "MESHC_PULSAR_TLS_NO_HOSTNAME_VERIFY"
	TokenFileEnv         = "MESHC_PULSAR_TOKEN_FILE"
	OAuth2IssuerURLEnv   = "MESHC_PULSAR_OAUTH2_ISSUER_URL"
	OAuth2AudienceEnv    = "MESHC_PULSAR_OAUTH2_AUDIENCE"
	OAuth2ScopeEnv       = "MESHC_PULSAR_OAUTH2_SCOPE"
	OAuth2CredentialsEnv = "MESHC_PULSAR_OAUTH2_CREDENTIALS_FILE"
	TLSCertFileEnv       = "MESHC_PULSAR_TLS_CERT_FILE"
	TLSKeyFileEnv        = "MESHC_PULSAR_TLS_KEY_FILE"
)

// oauth2FirstTokenTimeout bounds fetching the first OAuth2 token when a
// client is made: pulsar-client-go's HTTP clients have no timeout of their
// own, and an issuer that never answers would hold the client's start.
const oauth2FirstTokenTimeout = 20 * time.Second

// fileURLPrefix may start a credentials path, as in Pulsar's own
// configuration (privateKey=file:///path).
const fileURLPrefix = "file://"

// envVar is a string setting of a Connection and its variable.
type envVar struct {
	name  string
	field *string
}

// stringVars pairs every string setting with its variable, so that
// ConnectionFromEnv and Env cannot drift apart.
func (c *Connection) stringVars() []envVar {
	return []envVar{{TrustCertsEnv, &c.TrustCertsFile}, {TokenFileEnv, &c.TokenFile},
		{OAuth2IssuerURLEnv, &c.IssuerURL}, {OAuth2AudienceEnv, &c.Audience}, {OAuth2ScopeEnv, &c.Scope},
		{OAuth2CredentialsEnv, &c.CredentialsFile}, {TLSCertFileEnv, &c.CertFile}, {TLSKeyFileEnv, &c.KeyFile}}
}

// ConnectionFromEnv is the Connection the environment describes for url.
// Its warnings go to slog's default logger, which writes to standard
// error: the instance's log.
func ConnectionFromEnv(url string) Connection {
	c := Connection{URL: url}
	for _, v := range c.stringVars() {
		*v.field = os.Getenv(v.name)
	}
	if s := os.Getenv(NoHostnameVerifyEnv); s != "" {
		b, err := strconv.ParseBool(s)
		if err != nil {
			c.envErr = fmt.Sprintf("%s=%q: set it to true or false", NoHostnameVerifyEnv, s)
		}
		c.NoHostnameVerification = b
	}
	for _, w := range c.Warnings() {
		slog.Warn(w)
	}
	return c
}

// Env is the Connection as the environment of an instance. Every variable
// is there, empty when unset, so that one left in meshc's own environment
// cannot add a second way to authenticate to the instance's.
func (c Connection) Env() []string {
	var env []string
	for _, v := range c.stringVars() {
		env = append(env, v.name+"="+*v.field)
	}
	hostnames := ""
	if c.NoHostnameVerification {
		hostnames = "true"
	}
	return append(env, NoHostnameVerifyEnv+"="+hostnames)
}

// Warnings are what a user should hear about the Connection before it is
// used: settings that work but give up some security.
func (c Connection) Warnings() []string {
	var w []string
	if c.NoHostnameVerification {
		w = append(w, "Pulsar TLS host name verification is off: a broker certificate from a trusted CA is accepted "+
			"whatever host it names, so anyone holding one can pose as the broker; give the broker a certificate "+
			"that names its host and turn verification back on")
	}
	if u, err := url.Parse(c.IssuerURL); err == nil && u.Scheme == "http" && !loopback(u.Hostname()) {
		w = append(w, fmt.Sprintf("the OAuth2 issuer %s is plain http://: the client secret crosses the network "+
			"unencrypted; use its https:// URL", c.IssuerURL))
	}
	return w
}

// loopback tells whether host is this machine, where plain HTTP stays.
func loopback(host string) bool {
	ip := net.ParseIP(host)
	return host == "localhost" || (ip != nil && ip.IsLoopback())
}

// ClientOptions are pulsar-client-go's options for the Connection. Files
// named are checked now, so that a missing or empty one is said at once
// rather than as a connection that never succeeds.
func (c Connection) ClientOptions() (pulsar.ClientOptions, error) {
	opts := pulsar.ClientOptions{URL: c.URL}
	if c.envErr != "" {
		return opts, errors.New(c.envErr)
	}
	if err := c.checkTLS(); err != nil {
		return opts, err
	}
	if c.TrustCertsFile != "" {
		opts.TLSTrustCertsFilePath, opts.TLSValidateHostname = c.TrustCertsFile, true
	}
	a, err := c.authentication()
	if err != nil {
		return opts, err
	}
	opts.Authentication = a
	if c.NoHostnameVerification {
		// pulsar-client-go verifies host names whenever it verifies
		// chains, so the chain is verified by a configuration of our own.
		opts.TLSConfig, err = c.clientTLS()
	}
	return opts, err
}

// checkTLS refuses TLS settings for a URL without TLS, and checks the
// trust certificates.
func (c Connection) checkTLS() error {
	if strings.HasPrefix(c.URL, "pulsar+ssl://") {
		if c.TrustCertsFile == "" {
			return nil
		}
		return readable(c.TrustCertsFile, "trust certificates")
	}
	for _, s := range []struct {
		set  bool
		what string
	}{
		{c.TrustCertsFile != "", "trust certificates " + c.TrustCertsFile + " are"},
		{c.CertFile != "" || c.KeyFile != "", "a TLS client certificate is"},
		{c.NoHostnameVerification, "turning host name verification off is"},
	} {
		if s.set {
			return fmt.Errorf("%s for pulsar+ssl:// URLs, and %s is not one: use pulsar+ssl://HOST:6651", s.what, c.URL)
		}
	}
	return nil
}

// authMethod is a way to authenticate, and where it is set.
type authMethod struct {
	name, where string
	set         func(Connection) bool
}

// tlsAuthWhere is where a TLS client certificate is set.
const tlsAuthWhere = "--pulsar-tls-cert-file and --pulsar-tls-key-file, " + TLSCertFileEnv + " and " + TLSKeyFileEnv

var authMethods = []authMethod{
	{"token", "--pulsar-token-file, " + TokenFileEnv, func(c Connection) bool { return c.TokenFile != "" }},
	{"oauth2", "--pulsar-oauth2-*, MESHC_PULSAR_OAUTH2_*", func(c Connection) bool {
		return c.IssuerURL != "" || c.Audience != "" || c.Scope != "" || c.CredentialsFile != ""
	}},
	{"tls", tlsAuthWhere, func(c Connection) bool { return c.CertFile != "" || c.KeyFile != "" }},
}

// authentication is the client's authentication: none, or the one method
// the Connection sets.
func (c Connection) authentication() (pulsar.Authentication, error) {
	var set []authMethod
	for _, m := range authMethods {
		if m.set(c) {
			set = append(set, m)
		}
	}
	if len(set) > 1 {
		return nil, fmt.Errorf("the Pulsar authentication is set twice, as %s (%s) and as %s (%s): keep one of them",
			set[0].name, set[0].where, set[1].name, set[1].where)
	}
	if len(set) == 0 {
		return nil, nil
	}
	switch set[0].name {
	case "token":
		if err := readable(c.TokenFile, "token"); err != nil {
			return nil, err
		}
		return pulsar.NewAuthenticationTokenFromFile(c.TokenFile), nil
	case "oauth2":
		return c.oauth2()
	default:
		return c.tlsAuth()
	}
}

// tlsAuth checks the client certificate and its key now, since the client
// would otherwise fail only at its first connection.
func (c Connection) tlsAuth() (pulsar.Authentication, error) {
	if c.CertFile == "" || c.KeyFile == "" {
		return nil, fmt.Errorf("a Pulsar TLS client certificate needs both its certificate file and its key file (%s)", tlsAuthWhere)
	}
	if err := readable(c.CertFile, "TLS client certificate"); err != nil {
		return nil, err
	}
	if err := readable(c.KeyFile, "TLS client key"); err != nil {
		return nil, err
	}
	if _, err := tls.LoadX509KeyPair(c.CertFile, c.KeyFile); err != nil {
		return nil, fmt.Errorf("the Pulsar TLS client certificate %s and key %s: %w; give a PEM certificate and its PEM private key",
			c.CertFile, c.KeyFile, err)
	}
	return pulsar.NewAuthenticationTLS(c.CertFile, c.KeyFile), nil
}

// oauth2 checks the credentials file and the issuer, and makes the
// client-credentials provider; no request is sent yet.
func (c Connection) oauth2() (pulsar.Authentication, error) {
	path := strings.TrimPrefix(c.CredentialsFile, fileURLPrefix)
	switch {
	case path == "":
		return nil, fmt.Errorf("the Pulsar OAuth2 client needs a credentials file of client_id and client_secret (--pulsar-oauth2-credentials-file, %s)", OAuth2CredentialsEnv)
	case strings.HasPrefix(path, "data:"):
		return nil, errors.New("the Pulsar OAuth2 credentials must be a file's path, not a data: URL: secrets stay in files")
	}
	if err := readable(path, "OAuth2 credentials"); err != nil {
		return nil, err
	}
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("reading the Pulsar OAuth2 credentials: %w", err)
	}
	creds, err := parseCredentials(data)
	if err != nil {
		return nil, fmt.Errorf("the Pulsar OAuth2 credentials file %s: %w", path, err)
	}
	issuer := cmp.Or(c.IssuerURL, creds.IssuerURL)
	if err := checkIssuer(issuer); err != nil {
		return nil, err
	}
	// The flow reads the file again for each token, and takes its issuer
	// when IssuerURL is empty: a rotated file is taken up.
	flow, err := oauth2.NewDefaultClientCredentialsFlow(oauth2.ClientCredentialsFlowOptions{
		KeyFile: path, IssuerURL: c.IssuerURL, AdditionalScopes: strings.Fields(c.Scope)})
	if err != nil {
		return nil, fmt.Errorf("the Pulsar OAuth2 client credentials: %w", err)
	}
	p := auth.NewAuthenticationOAuth2(oauth2.Issuer{IssuerEndpoint: issuer, ClientID: creds.ClientID, Audience: c.Audience}, flow)
	return &oauth2Auth{Provider: p, issuer: issuer, clientID: creds.ClientID, file: path}, nil
}

// parseCredentials reads an OAuth2 credentials file as pulsar-client-go
// does, and checks that it holds a client. Its errors never quote the
// file, which holds a secret.
func parseCredentials(data []byte) (oauth2.KeyFile, error) {
	var k oauth2.KeyFile
	if err := json.Unmarshal(data, &k); err != nil {
		var syn *json.SyntaxError
		var typ *json.UnmarshalTypeError
		switch {
		case errors.As(err, &syn):
			return k, fmt.Errorf("not JSON (at byte %d): give the JSON object of client_id and client_secret", syn.Offset)
		case errors.As(err, &typ) && typ.Field == "":
			return k, fmt.Errorf("a JSON %s, not an object: give the JSON object of client_id and client_secret", typ.Value)
		case errors.As(err, &typ):
			return k, fmt.Errorf("its %s is a JSON %s, not a string", typ.Field, typ.Value)
		}
		return k, fmt.Errorf("not the JSON object of client_id and client_secret: %w", err)
	}
	switch {
	case k.ClientID == "":
		return k, errors.New("no client_id: give the OAuth2 client's id and secret")
	case k.ClientSecret == "":
		return k, errors.New("no client_secret: give the OAuth2 client's id and secret")
	}
	return k, nil
}

// checkIssuer checks the issuer URL that OIDC discovery starts from.
func checkIssuer(issuer string) error {
	if issuer == "" {
		return fmt.Errorf("the Pulsar OAuth2 client needs the issuer URL: set --pulsar-oauth2-issuer-url or %s, or issuer_url in the credentials file", OAuth2IssuerURLEnv)
	}
	u, err := url.Parse(issuer)
	if err != nil || (u.Scheme != "https" && u.Scheme != "http") || u.Host == "" {
		return fmt.Errorf("the Pulsar OAuth2 issuer URL %q: want https://HOST[/PATH], the URL its /.well-known/openid-configuration is under", issuer)
	}
	return nil
}

// oauth2Auth is pulsar-client-go's OAuth2 provider, made to fetch its
// first token when the client is made. Alone, it fetches one for each
// connection, and a refused one only shows as connections retried until
// the operation times out, with the reason in the client's log.
type oauth2Auth struct {
	auth.Provider
	issuer, clientID, file string
}

func (a *oauth2Auth) Init() error {
	if err := a.Provider.Init(); err != nil {
		return err
	}
	got := make(chan error, 1)
	go func() {
		_, err := a.GetData()
		got <- err
	}()
	select {
	case err := <-got:
		return a.explain(err)
	case <-time.After(oauth2FirstTokenTimeout):
		return fmt.Errorf("no OAuth2 token from %s within %s: check the issuer URL, and that the issuer answers from here", a.issuer, oauth2FirstTokenTimeout)
	}
}

// explain says what to check when the first token could not be had: the
// credentials if the issuer refused them, else the way to the issuer.
func (a *oauth2Auth) explain(err error) error {
	var refused *oauth2.TokenError
	switch {
	case err == nil:
		return nil
	case errors.As(err, &refused):
		return fmt.Errorf("no OAuth2 token from %s for client %s: %w; check client_id and client_secret in %s, and the audience and scope asked for",
			a.issuer, a.clientID, err, a.file)
	}
	return fmt.Errorf("no OAuth2 token from %s for client %s: %w; check the issuer URL, and that the issuer answers from here", a.issuer, a.clientID, err)
}

// clientTLS is a TLS configuration of the Connection's own: the broker's
// chain verified against the trust certificates (or the system's), its
// host name too unless NoHostnameVerification, and the client certificate,
// if any, read for each connection, as pulsar-client-go does.
func (c Connection) clientTLS() (*tls.Config, error) {
	conf := &tls.Config{}
	if c.TrustCertsFile != "" {
		pem, err := os.ReadFile(c.TrustCertsFile)
		if err != nil {
			return nil, fmt.Errorf("reading the Pulsar trust certificates: %w", err)
		}
		conf.RootCAs = x509.NewCertPool()
		if !conf.RootCAs.AppendCertsFromPEM(pem) {
			return nil, fmt.Errorf("the Pulsar trust certificates %s hold no PEM certificate: give the CAs' PEM bundle", c.TrustCertsFile)
		}
	}
	if c.NoHostnameVerification {
		// Go's own verification always checks the host name; the chain
		// is verified below instead.
		conf.InsecureSkipVerify = true
		conf.VerifyConnection = func(cs tls.ConnectionState) error { return verifyChain(cs.PeerCertificates, conf.RootCAs) }
	}
	if c.CertFile != "" {
		conf.GetClientCertificate = func(*tls.CertificateRequestInfo) (*tls.Certificate, error) {
			cert, err := tls.LoadX509KeyPair(c.CertFile, c.KeyFile)
			return &cert, err
		}
	}
	return conf, nil
}

// verifyChain verifies a peer's chain for server authentication, without
// a host name.
func verifyChain(certs []*x509.Certificate, roots *x509.CertPool) error {
	if len(certs) == 0 {
		return errors.New("the broker sent no certificate")
	}
	inter := x509.NewCertPool()
	for _, c := range certs[1:] {
		inter.AddCert(c)
	}
	if _, err := certs[0].Verify(x509.VerifyOptions{Roots: roots, Intermediates: inter}); err != nil {
		return fmt.Errorf("the broker's certificate: %w", err)
	}
	return nil
}

// readable checks that a file exists and holds something.
func readable(path, what string) error {
	data, err := os.ReadFile(path)
	switch {
	case err != nil:
		return fmt.Errorf("reading the Pulsar %s: %w; give a readable file", what, err)
	case len(strings.TrimSpace(string(data))) == 0:
		return fmt.Errorf("the Pulsar %s file %s is empty; fill it, or drop the setting", what, path)
	}
	return nil
}
