package main

import (
	"cmp"
	"context"
	"fmt"
	"io"
	"path/filepath"
	"strings"
	"time"

	"github.com/apache/pulsar-client-go/pulsar"
	"github.com/spf13/cobra"

	"github.com/meshc/meshc/backends/direct"
	"github.com/meshc/meshc/backends/local"
	"github.com/meshc/meshc/planner/plan"
	"github.com/meshc/meshc/runtime"
)

// pulsarFlags reach a mesh deployed on any backend through its Pulsar:
// the verbs that need only Pulsar and the plan (trigger, querystate,
// putstate) then work without a local run.
type pulsarFlags struct {
	url, plan string
	params    paramFlags
	secure    secureFlags
}

func (pf *pulsarFlags) register(cmd *cobra.Command) {
	cmd.Flags().StringVar(&pf.url, "pulsar-url", "", "reach a mesh deployed on any backend through this Pulsar (with --plan)")
	cmd.Flags().StringVar(&pf.plan, "plan", "", "with --pulsar-url: the deployed mesh, as its .mesh file (with its -p and --params) or its plan .json")
	pf.params.register(cmd)
	pf.secure.register(cmd)
}

// secureFlags say how to reach a secured Pulsar: files and settings,
// never secrets.
type secureFlags struct {
	trustCerts, tokenFile              string
	noHostnameVerification             bool
	issuerURL, audience, scope         string
	credentialsFile, certFile, keyFile string
}

func (s *secureFlags) register(cmd *cobra.Command) {
	f := cmd.Flags()
	f.StringVar(&s.trustCerts, "pulsar-trust-certs", "", "the PEM file of the CAs a pulsar+ssl:// broker's certificate must chain to (default: the system's)")
	f.BoolVar(&s.noHostnameVerification, "pulsar-tls-no-hostname-verification", false, "accept a pulsar+ssl:// broker's certificate whatever host it names (its chain is still verified); insecure, warned about")
	f.StringVar(&s.tokenFile, "pulsar-token-file", "", "a file holding the JWT to authenticate to Pulsar with (read again on each connection)")
	f.StringVar(&s.issuerURL, "pulsar-oauth2-issuer-url", "", "authenticate to Pulsar with OAuth2 client credentials from this issuer (default: issuer_url of the credentials file)")
	f.StringVar(&s.audience, "pulsar-oauth2-audience", "", "the OAuth2 audience to ask tokens for (the Pulsar cluster's)")
	f.StringVar(&s.scope, "pulsar-oauth2-scope", "", "the OAuth2 scopes to ask tokens for, space-separated")
	f.StringVar(&s.credentialsFile, "pulsar-oauth2-credentials-file", "", "the OAuth2 client's JSON credentials file: client_id, client_secret, optionally issuer_url")
	f.StringVar(&s.certFile, "pulsar-tls-cert-file", "", "authenticate to a pulsar+ssl:// Pulsar with this PEM client certificate (with --pulsar-tls-key-file)")
	f.StringVar(&s.keyFile, "pulsar-tls-key-file", "", "the PEM private key of --pulsar-tls-cert-file")
}

// connection is how to reach the Pulsar at url, with absolute paths: the
// instances of a run work in the mesh's folder. What it gives up of
// security is said on stderr.
func (s secureFlags) connection(url string, stderr io.Writer) (runtime.Connection, error) {
	c := runtime.Connection{URL: url, NoHostnameVerification: s.noHostnameVerification,
		IssuerURL: s.issuerURL, Audience: s.audience, Scope: s.scope}
	for _, f := range []struct {
		in  string
		out *string
	}{
		{s.trustCerts, &c.TrustCertsFile}, {s.tokenFile, &c.TokenFile},
		{strings.TrimPrefix(s.credentialsFile, "file://"), &c.CredentialsFile},
		{s.certFile, &c.CertFile}, {s.keyFile, &c.KeyFile},
	} {
		if f.in == "" {
			continue
		}
		abs, err := filepath.Abs(f.in)
		if err != nil {
			return c, err
		}
		*f.out = abs
	}
	if _, err := c.ClientOptions(); err != nil {
		return c, err
	}
	for _, w := range c.Warnings() {
		fmt.Fprintf(stderr, "meshc: warning: %s\n", w)
	}
	return c, nil
}

// fromMesh takes the settings of the mesh's pulsar block where the flags
// say nothing. Its secrets are references to a store this command does
// not have, so each must come as a file by its flag.
func (s *secureFlags) fromMesh(p *plan.Pulsar) error {
	if p == nil {
		return nil
	}
	s.noHostnameVerification = s.noHostnameVerification || p.SkipHostnameVerification
	var missing []string
	need := func(ref *plan.Secret, flag, have string) {
		if ref != nil && have == "" {
			missing = append(missing, fmt.Sprintf("%s for secret(%q, %q)", flag, ref.Path, ref.Key))
		}
	}
	need(p.TrustCerts, "--pulsar-trust-certs", s.trustCerts)
	need(p.Token, "--pulsar-token-file", s.tokenFile)
	if a := p.OAuth2; a != nil {
		s.issuerURL, s.audience, s.scope = cmp.Or(s.issuerURL, a.IssuerURL), cmp.Or(s.audience, a.Audience), cmp.Or(s.scope, a.Scope)
		need(&a.Credentials, "--pulsar-oauth2-credentials-file", s.credentialsFile)
	}
	if c := p.ClientCert; c != nil {
		need(&c.Cert, "--pulsar-tls-cert-file", s.certFile)
		need(&c.Key, "--pulsar-tls-key-file", s.keyFile)
	}
	if len(missing) > 0 {
		return fmt.Errorf("the mesh's pulsar block names secrets that meshc reads from files here: pass %s", strings.Join(missing, ", "))
	}
	return nil
}

// set tells whether the flags name a Pulsar; a local run is meant if not.
func (pf *pulsarFlags) set() bool { return pf.url != "" || pf.plan != "" }

// open plans the mesh and connects to its Pulsar.
func (pf *pulsarFlags) open(cmd *cobra.Command) (*plan.Plan, pulsar.Client, error) {
	if pf.plan == "" {
		return nil, nil, usageErrorf("--pulsar-url and --plan go together: the cluster's Pulsar and the mesh deployed there")
	}
	p, err := loadPlan(cmd, pf.plan, &pf.params)
	if err != nil {
		return nil, nil, err
	}
	if pf.url == "" && p.Mesh.Pulsar != nil {
		pf.url = p.Mesh.Pulsar.URL
	}
	if pf.url == "" {
		return nil, nil, usageErrorf("--plan needs --pulsar-url, the cluster's Pulsar, unless the mesh's pulsar block names it")
	}
	if err := pf.secure.fromMesh(p.Mesh.Pulsar); err != nil {
		return nil, nil, fail(err)
	}
	conn, err := pf.secure.connection(pf.url, cmd.ErrOrStderr())
	if err != nil {
		return nil, nil, fail(err)
	}
	if err := direct.Probe(conn.URL); err != nil {
		return nil, nil, fail(err)
	}
	if err := preflight(cmd.Context(), conn, p); err != nil {
		return nil, nil, fail(err)
	}
	c, err := direct.Dial(conn)
	if err != nil {
		return nil, nil, fail(err)
	}
	return p, c, nil
}

// trigger is trigger through Pulsar.
func (pf *pulsarFlags) trigger(cmd *cobra.Command, name, topic, value string, timeout time.Duration) (string, []string, error) {
	p, c, err := pf.open(cmd)
	if err != nil {
		return "", nil, err
	}
	defer c.Close()
	sent, outs, err := direct.Trigger(cmd.Context(), c, p, name, topic, value, timeout)
	return sent, outs, fail(err)
}

// queryState is querystate through Pulsar.
func (pf *pulsarFlags) queryState(cmd *cobra.Command, name, key string) (direct.State, error) {
	p, c, err := pf.open(cmd)
	if err != nil {
		return direct.State{}, err
	}
	defer c.Close()
	ctx, cancel := context.WithTimeout(cmd.Context(), stateTimeout)
	defer cancel()
	st, err := direct.QueryState(ctx, c, p, name, key)
	return st, fail(err)
}

// putState is putstate through Pulsar.
func (pf *pulsarFlags) putState(cmd *cobra.Command, name, key, value string, counter bool) error {
	p, c, err := pf.open(cmd)
	if err != nil {
		return err
	}
	defer c.Close()
	ctx, cancel := context.WithTimeout(cmd.Context(), stateTimeout)
	defer cancel()
	return fail(direct.PutState(ctx, c, p, name, key, value, counter))
}

// stateTimeout bounds reading or writing state through Pulsar.
const stateTimeout = time.Minute

// trigger sends a value to a function, through Pulsar when the flags name
// one, else through the local run's control API.
func trigger(cmd *cobra.Command, tf *targetFlags, pf *pulsarFlags, name, topic, value string, timeout time.Duration) (local.TriggerResult, error) {
	if tf.Backend == pulsarBackend {
		return pulsarTrigger(cmd, tf, name, topic, value, timeout)
	}
	if pf.set() {
		sent, outs, err := pf.trigger(cmd, name, topic, value, timeout)
		return local.TriggerResult{Sent: sent, Outputs: outs}, err
	}
	c, err := tf.client()
	if err != nil {
		return local.TriggerResult{}, err
	}
	res, err := c.Trigger(cmd.Context(), name, topic, value, timeout)
	return res, fail(err)
}
