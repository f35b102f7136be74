package main

import (
	"cmp"
	"fmt"
	"net"
	"net/url"
	"time"

	"github.com/apache/pulsar-client-go/pulsaradmin"
	padmin "github.com/apache/pulsar-client-go/pulsaradmin/pkg/admin"
	"github.com/apache/pulsar-client-go/pulsaradmin/pkg/admin/auth"
	"github.com/spf13/cobra"

	"github.com/meshc/meshc/compiler"
	"github.com/meshc/meshc/internal/registrycheck"
	"github.com/meshc/meshc/lang"
	"github.com/meshc/meshc/planner"
)

// registryTimeout bounds one call to the cluster's admin API.
const registryTimeout = 30 * time.Second

// Pulsar's web service ports, where check looks for the admin API when
// neither --admin-url nor the mesh says.
const (
	adminPort    = "8080"
	adminTLSPort = "8443"
)

// liveFlags point check at a live cluster, whose schema registry the
// mesh's topics are checked against.
type liveFlags struct {
	pulsarURL, adminURL string
	secure              secureFlags
}

func (lf *liveFlags) register(cmd *cobra.Command) {
	cmd.Flags().StringVar(&lf.pulsarURL, "pulsar-url", "", "also check each topic's schema against what this Pulsar cluster has registered for it")
	cmd.Flags().StringVar(&lf.adminURL, "admin-url", "", "with --pulsar-url: the cluster's admin (web service) URL (default: the mesh's admin_url, else http://HOST:8080 of --pulsar-url, https://HOST:8443 for pulsar+ssl://)")
	lf.secure.register(cmd)
}

// check reports, at each topic, a schema the cluster would refuse or one
// that differs from what it holds.
func (lf *liveFlags) check(cmd *cobra.Command, m *compiler.Mesh) (lang.Diagnostics, error) {
	p := planner.Plan(m, planner.Options{})
	if err := lf.secure.fromMesh(p.Mesh.Pulsar); err != nil {
		return nil, err
	}
	adminURL := lf.adminURL
	if p.Mesh.Pulsar != nil {
		adminURL = cmp.Or(adminURL, p.Mesh.Pulsar.AdminURL)
	}
	if adminURL == "" {
		u, err := url.Parse(lf.pulsarURL)
		if err != nil || u.Hostname() == "" {
			return nil, usageErrorf("--pulsar-url %q: want pulsar://HOST:PORT or pulsar+ssl://HOST:PORT", lf.pulsarURL)
		}
		adminURL = "http://" + net.JoinHostPort(u.Hostname(), adminPort)
		if u.Scheme == "pulsar+ssl" {
			adminURL = "https://" + net.JoinHostPort(u.Hostname(), adminTLSPort)
		}
	}
	conn, err := lf.secure.connection(lf.pulsarURL, cmd.ErrOrStderr())
	if err != nil {
		return nil, err
	}
	hc, err := conn.AdminClient(registryTimeout)
	if err != nil {
		return nil, fmt.Errorf("the credentials for Pulsar's admin API at %s: %w", adminURL, err)
	}
	admin, err := padmin.NewPulsarClientWithAuthProvider(&pulsaradmin.Config{WebServiceURL: adminURL}, auth.NewDefaultProvider(hc.Transport))
	if err != nil {
		return nil, err
	}
	diags, err := registrycheck.Check(admin, m, p)
	if err != nil {
		return diags, fmt.Errorf("reading the schema registry of Pulsar at %s: %w; check --admin-url and the credentials", adminURL, err)
	}
	return diags, nil
}
