package backends

import (
	"path"
	"strings"

	"github.com/meshc/meshc/planner/plan"
	"github.com/meshc/meshc/runtime"
)

// PulsarURL is the service URL instances of p connect to: flag when the
// deployment gives one, else the mesh's pulsar block's, else the backend's
// default.
func PulsarURL(p *plan.Plan, flag, backendDefault string) string {
	switch {
	case flag != "":
		return flag
	case p.Mesh.Pulsar != nil && p.Mesh.Pulsar.URL != "":
		return p.Mesh.Pulsar.URL
	}
	return backendDefault
}

// PulsarFile is a secret an instance reads as a file to reach Pulsar.
type PulsarFile struct {
	// Name is the file's name in the folder the backend puts them in.
	Name   string
	Secret plan.Secret
}

// Names of the files of PulsarConnection.
const (
	TrustCertsFile        = "trust-certs.pem"
	TokenFile             = "token"
	OAuth2CredentialsFile = "oauth2-credentials.json"
	ClientCertFile        = "client-cert.pem"
	ClientKeyFile         = "client-key.pem"
)

// PulsarConnection is how instances of p reach Pulsar at url, as the
// mesh's pulsar block says, each of its secrets read from a file in dir;
// files are the secrets the backend puts there. An instance gets the
// Connection as its environment (runtime.Connection.Env): paths and
// settings, never a secret's value.
func PulsarConnection(p *plan.Plan, url, dir string) (conn runtime.Connection, files []PulsarFile) {
	conn.URL = url
	pp := p.Mesh.Pulsar
	if pp == nil {
		return conn, nil
	}
	file := func(name string, s plan.Secret) string {
		files = append(files, PulsarFile{Name: name, Secret: s})
		return path.Join(dir, name)
	}
	conn.NoHostnameVerification = pp.SkipHostnameVerification
	if pp.TrustCerts != nil {
		conn.TrustCertsFile = file(TrustCertsFile, *pp.TrustCerts)
	}
	if pp.Token != nil {
		conn.TokenFile = file(TokenFile, *pp.Token)
	}
	if o := pp.OAuth2; o != nil {
		conn.IssuerURL, conn.Audience, conn.Scope = o.IssuerURL, o.Audience, o.Scope
		conn.CredentialsFile = file(OAuth2CredentialsFile, o.Credentials)
	}
	if c := pp.ClientCert; c != nil {
		conn.CertFile, conn.KeyFile = file(ClientCertFile, c.Cert), file(ClientKeyFile, c.Key)
	}
	return conn, files
}

// EnvMap is a Connection's environment as a map, the variables that are
// set only.
func EnvMap(c runtime.Connection) map[string]string {
	m := map[string]string{}
	for _, kv := range c.Env() {
		if k, v, _ := strings.Cut(kv, "="); v != "" {
			m[k] = v
		}
	}
	return m
}
