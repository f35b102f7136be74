package compiler

import (
	"net/url"
	"slices"
	"strings"

	"github.com/meshc/meshc/lang"
)

// Pulsar is how the mesh's instances reach Pulsar: the mesh's pulsar block.
// Credentials are secret references only; a deployment's --pulsar-* flags
// override what is set here.
type Pulsar struct {
	URL      string // pulsar:// or pulsar+ssl://
	AdminURL string // http:// or https://
	// TrustCerts is the PEM bundle of the CAs the broker's certificate
	// must chain to; nil trusts the system's.
	TrustCerts *Secret
	// SkipHostnameVerification turns off the check of the broker's host
	// name against its certificate: on by default, off only when written.
	SkipHostnameVerification bool
	// At most one way to authenticate.
	Token      *Secret
	OAuth2     *OAuth2
	ClientCert *ClientCert

	Span lang.Span // the pulsar block
}

// OAuth2 is Pulsar's OAuth2 client-credentials authentication.
type OAuth2 struct {
	IssuerURL, Audience, Scope string
	// Credentials is the JSON file of client_id and client_secret.
	Credentials Secret
}

// ClientCert is TLS client-certificate authentication (mTLS).
type ClientCert struct {
	Cert, Key Secret
}

var (
	pulsarKeys     = []string{"url", "admin_url", "trust_certs", "verify_hostname", "token", "oauth2", "client_cert"}
	oauth2Keys     = []string{"issuer_url", "audience", "scope", "credentials"}
	clientCertKeys = []string{"cert", "key"}
	authKeys       = []string{"token", "oauth2", "client_cert"}
)

// resolvePulsar reads the mesh's pulsar block, if it has one.
func (c *compiler) resolvePulsar() {
	a := c.pulsarAttr
	if a == nil {
		return
	}
	obj := c.objectValue(a)
	if obj == nil {
		return
	}
	p := &Pulsar{Span: obj.Span}
	var auth []*lang.Attr
	for _, a := range c.attrs(obj, "mesh.pulsar", pulsarKeys) {
		if slices.Contains(authKeys, a.Key().Name) {
			auth = append(auth, a)
		}
		c.pulsarSetting(p, a)
	}
	if len(auth) > 1 {
		d := c.errorf(auth[1].Key().Span, "the mesh authenticates to Pulsar with %s and with %s: one way only", auth[0].Key().Name, auth[1].Key().Name).WithHint(
			"keep the one the cluster expects")
		d.Related = append(d.Related, lang.Related{Pos: auth[0].Key().Start(), End: auth[0].Key().End(), Message: "first way here"})
	}
	c.checkPulsarTLS(p, obj)
	c.mesh.Pulsar = p
}

func (c *compiler) pulsarSetting(p *Pulsar, a *lang.Attr) {
	switch a.Key().Name {
	case "url":
		p.URL = c.urlValue(a, "pulsar", "pulsar+ssl")
	case "admin_url":
		p.AdminURL = c.urlValue(a, "http", "https")
	case "trust_certs":
		p.TrustCerts = c.secretValue(a, a.Key().Name)
	case "verify_hostname":
		if v, ok := c.boolValue(a); ok && !v {
			p.SkipHostnameVerification = true
			c.warnf(a.Value().Span, "the broker's host name is not checked against its certificate: anyone with a certificate from a trusted CA can pose as it").WithHint(
				"remove verify_hostname = false once the broker's certificate names the host instances connect to")
		}
	case "token":
		p.Token = c.secretValue(a, a.Key().Name)
	case "oauth2":
		p.OAuth2 = c.oauth2(a)
	case "client_cert":
		p.ClientCert = c.clientCert(a)
	}
}

func (c *compiler) oauth2(a *lang.Attr) *OAuth2 {
	obj := c.objectValue(a)
	if obj == nil {
		return nil
	}
	o := &OAuth2{}
	var credentials *Secret
	for _, a := range c.attrs(obj, "mesh.pulsar.oauth2", oauth2Keys) {
		switch a.Key().Name {
		case "issuer_url":
			o.IssuerURL = c.urlValue(a, "http", "https")
		case "audience":
			o.Audience, _ = c.stringValue(a)
		case "scope":
			o.Scope, _ = c.stringValue(a)
		case "credentials":
			credentials = c.secretValue(a, a.Key().Name)
		}
	}
	if o.IssuerURL == "" || credentials == nil {
		c.errorf(obj.Span, "oauth2 needs issuer_url and credentials").WithHint(
			`write oauth2 { issuer_url = "https://auth.example.com/" audience = "urn:pulsar" credentials = secret("pulsar/oauth2", "credentials.json") }`)
		return nil
	}
	o.Credentials = *credentials
	return o
}

func (c *compiler) clientCert(a *lang.Attr) *ClientCert {
	obj := c.objectValue(a)
	if obj == nil {
		return nil
	}
	var cert, key *Secret
	for _, a := range c.attrs(obj, "mesh.pulsar.client_cert", clientCertKeys) {
		if a.Key().Name == "cert" {
			cert = c.secretValue(a, a.Key().Name)
		} else {
			key = c.secretValue(a, a.Key().Name)
		}
	}
	if cert == nil || key == nil {
		c.errorf(obj.Span, "client_cert needs cert and key").WithHint(
			`write client_cert { cert = secret("pulsar/client", "tls.crt") key = secret("pulsar/client", "tls.key") }`)
		return nil
	}
	return &ClientCert{Cert: *cert, Key: *key}
}

// checkPulsarTLS: certificates are for TLS URLs.
func (c *compiler) checkPulsarTLS(p *Pulsar, obj *lang.Object) {
	if p.URL == "" || strings.HasPrefix(p.URL, "pulsar+ssl://") {
		return
	}
	for _, a := range obj.Attrs {
		switch a.Key().Name {
		case "trust_certs", "client_cert", "verify_hostname":
			c.errorf(a.Key().Span, "%s is for TLS, and url %s is not pulsar+ssl://", a.Key().Name, p.URL).WithHint(
				"use the broker's pulsar+ssl:// URL, or remove %s", a.Key().Name)
		}
	}
}

// urlValue reads a URL with one of the schemes, or "".
func (c *compiler) urlValue(a *lang.Attr, schemes ...string) string {
	s, ok := c.stringValue(a)
	if !ok {
		return ""
	}
	u, err := url.Parse(s)
	if err != nil || !slices.Contains(schemes, u.Scheme) || u.Host == "" {
		c.errorf(a.Value().Span, "%s %q is not a URL with %s", a.Key().Name, s, joinOr(schemes)).WithHint(
			"write it as %s://HOST:PORT", schemes[0])
		return ""
	}
	return s
}

// joinOr lists URL schemes: "http:// or https://".
func joinOr(schemes []string) string {
	return strings.Join(schemes, ":// or ") + "://"
}

// secretValue reads secret("PATH", "KEY") as the value of what; an inline
// value would land in plans, manifests and logs, so it is an error.
func (c *compiler) secretValue(a *lang.Attr, what string) *Secret {
	ref := a.Value().Ref()
	if ref == nil || refName(ref) != "secret" || ref.Args() == nil {
		v, _ := c.eval(a.Value())
		c.errorf(a.Value().Span, "%s is %s, not a secret reference", what, v.describe()).WithHint(
			`keep the value in the secret store and write secret("PATH", "KEY")`)
		return nil
	}
	args := c.stringArgs(ref, 2)
	if args == nil || args[0] == "" || args[1] == "" {
		c.errorf(ref.Span, `secret takes a path and a key: secret("PATH", "KEY")`)
		return nil
	}
	if !c.portableSecret(ref.Span, args[0], args[1]) {
		return nil
	}
	return &Secret{Path: args[0], Key: args[1]}
}
