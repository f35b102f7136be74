package pulsarworker

import (
	"cmp"
	"context"
	"fmt"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/apache/pulsar-client-go/pulsaradmin"
	padmin "github.com/apache/pulsar-client-go/pulsaradmin/pkg/admin"
	"github.com/apache/pulsar-client-go/pulsaradmin/pkg/admin/auth"
	"github.com/apache/pulsar-client-go/pulsaradmin/pkg/admin/config"
	"github.com/apache/pulsar-client-go/pulsaradmin/pkg/utils"

	"github.com/meshc/meshc/planner/plan"
	"github.com/meshc/meshc/runtime"
)

// DefaultAdminURL is Pulsar's web service on this machine, as
// pulsar-admin defaults to.
const DefaultAdminURL = "http://localhost:8080"

// requestTimeout bounds one admin call; an upload of a large package
// takes the longest.
const requestTimeout = 2 * time.Minute

// Worker is a Pulsar cluster's Functions worker, reached through its
// admin API.
type Worker struct {
	url string
	// admin calls the v2 API (tenants, namespaces, topics); v3 the
	// functions, as pulsar-admin does.
	admin, v3 pulsaradmin.Client
	// http makes the calls pulsaradmin gets wrong, with the same
	// credentials.
	http *http.Client
}

// Connect makes a client of the admin API at adminURL ("" for the
// default), authenticated and trusting CAs as conn says (its token, OAuth2
// client or client certificate on every request). Nothing is called yet.
func Connect(adminURL string, conn runtime.Connection) (*Worker, error) {
	if adminURL == "" {
		adminURL = DefaultAdminURL
	}
	u, err := url.Parse(adminURL)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return nil, fmt.Errorf("admin URL %q: want Pulsar's web service URL, http://HOST:8080 or https://HOST:8443", adminURL)
	}
	if conn.URL == "" {
		conn.URL = ServiceURL(u)
	}
	hc, err := conn.AdminClient(requestTimeout)
	if err != nil {
		return nil, fmt.Errorf("the credentials for Pulsar's admin API at %s: %w", adminURL, err)
	}
	w := &Worker{url: adminURL, http: hc}
	for _, c := range []struct {
		client  *pulsaradmin.Client
		version config.APIVersion
	}{{&w.admin, config.V2}, {&w.v3, config.V3}} {
		cfg := &pulsaradmin.Config{WebServiceURL: adminURL, PulsarAPIVersion: c.version}
		if *c.client, err = padmin.NewPulsarClientWithAuthProvider(cfg, auth.NewDefaultProvider(hc.Transport)); err != nil {
			return nil, err
		}
	}
	return w, nil
}

// Pulsar's default broker ports (brokerServicePort, brokerServicePortTls).
const (
	brokerPort    = 6650
	brokerTLSPort = 6651
)

// ServiceURL is the broker service URL on the admin URL's host, at
// Pulsar's default ports: pulsar+ssl:// for https, else pulsar://.
func ServiceURL(admin *url.URL) string {
	if admin.Scheme == "https" {
		return "pulsar+ssl://" + admin.Hostname() + ":" + strconv.Itoa(brokerTLSPort)
	}
	return "pulsar://" + admin.Hostname() + ":" + strconv.Itoa(brokerPort)
}

// URL is the admin URL.
func (w *Worker) URL() string { return w.url }

// ensureNamespace creates the tenant, allowed on every cluster, and the
// namespace, where they are missing, and lists what it created; with
// dryRun it lists what it would create.
func (w *Worker) ensureNamespace(ctx context.Context, tenant, namespace string, dryRun bool) (created []string, err error) {
	tenants, err := w.admin.Tenants().ListWithContext(ctx)
	if err != nil {
		return nil, w.explain(err, "listing tenants")
	}
	if !slices.Contains(tenants, tenant) && dryRun {
		return []string{"tenant " + tenant, "namespace " + tenant + "/" + namespace}, nil
	}
	if !slices.Contains(tenants, tenant) {
		clusters, err := w.admin.Clusters().ListWithContext(ctx)
		if err != nil {
			return nil, w.explain(err, "listing clusters for tenant "+tenant)
		}
		err = w.admin.Tenants().CreateWithContext(ctx, utils.TenantData{Name: tenant, AllowedClusters: clusters})
		if err != nil && !isConflict(err) {
			return nil, w.explain(err, "creating tenant "+tenant)
		}
		created = append(created, "tenant "+tenant)
	}
	ns := tenant + "/" + namespace
	namespaces, err := w.admin.Namespaces().GetNamespacesWithContext(ctx, tenant)
	if err != nil {
		return created, w.explain(err, "listing the namespaces of "+tenant)
	}
	if !slices.Contains(namespaces, ns) && dryRun {
		return []string{"namespace " + ns}, nil
	}
	if !slices.Contains(namespaces, ns) {
		if err := w.admin.Namespaces().CreateNamespaceWithContext(ctx, ns); err != nil && !isConflict(err) {
			return created, w.explain(err, "creating namespace "+ns)
		}
		created = append(created, "namespace "+ns)
	}
	return created, nil
}

// functions reads every function of the namespace. A 404 or 503 of the
// listing is a worker that is off: a namespace that exists lists.
func (w *Worker) functions(ctx context.Context, tenant, namespace string) ([]Deployed, error) {
	names, err := w.v3.Functions().GetFunctionsWithContext(ctx, tenant, namespace)
	if isNotFound(err) && !w.namespaceExists(ctx, tenant, namespace) {
		return nil, fmt.Errorf("%w: namespace %s/%s does not exist at %s: check --tenant and --namespace", ErrNoMesh, tenant, namespace, w.url)
	}
	if isNotFound(err) {
		return nil, fmt.Errorf("listing the functions of %s/%s: %w at %s (404 on admin/v3/functions: %s): run Pulsar with functionsWorkerEnabled=true, or meshc broker with its worker, or give --admin-url of a broker that has one",
			tenant, namespace, ErrWorkerOff, w.url, reasonOf(err))
	}
	if err != nil {
		return nil, w.explain(err, fmt.Sprintf("listing the functions of %s/%s", tenant, namespace))
	}
	var out []Deployed
	for _, name := range names {
		fc, err := w.v3.Functions().GetFunctionWithContext(ctx, tenant, namespace, name)
		if isNotFound(err) {
			continue // deleted meanwhile
		}
		if err != nil {
			return nil, w.explain(err, "reading function "+tenant+"/"+namespace+"/"+name)
		}
		if fc.Name == "" {
			fc.Name = name
		}
		out = append(out, deployedOf(fc))
	}
	return out, nil
}

// namespaceExists tells whether the v2 API lists the namespace; an
// answer that cannot tell counts as yes.
func (w *Worker) namespaceExists(ctx context.Context, tenant, namespace string) bool {
	namespaces, err := w.admin.Namespaces().GetNamespacesWithContext(ctx, tenant)
	if isNotFound(err) {
		return false
	}
	return err != nil || slices.Contains(namespaces, tenant+"/"+namespace)
}

// Mesh is the functions of one mesh on the worker.
type Mesh struct {
	Name, Tenant, Namespace string
	Functions               []Deployed // by name
}

// Mesh reads the functions of mesh in tenant/namespace; ErrNoMesh when
// there are none.
func (w *Worker) Mesh(ctx context.Context, tenant, namespace, mesh string) (*Mesh, error) {
	all, err := w.functions(ctx, tenant, namespace)
	if err != nil {
		return nil, err
	}
	m := &Mesh{Name: mesh, Tenant: tenant, Namespace: namespace}
	var others []string
	for _, d := range all {
		switch {
		case mesh == "" && d.Mesh != "":
			if !slices.Contains(others, d.Mesh) {
				others = append(others, d.Mesh)
			}
		case d.Mesh == mesh && mesh != "":
			m.Functions = append(m.Functions, d)
		}
	}
	if mesh == "" {
		switch len(others) {
		case 0:
			return nil, fmt.Errorf("%w: %s/%s at %s holds no function that meshc deployed: check --tenant and --namespace", ErrNoMesh, tenant, namespace, w.url)
		case 1:
			return w.Mesh(ctx, tenant, namespace, others[0])
		}
		slices.Sort(others)
		return nil, fmt.Errorf("%s/%s holds the meshes %v: name one with --mesh", tenant, namespace, others)
	}
	if len(m.Functions) == 0 {
		return nil, fmt.Errorf("%w: %s/%s at %s holds no function of mesh %s: check --mesh, --tenant and --namespace", ErrNoMesh, tenant, namespace, w.url, mesh)
	}
	slices.SortFunc(m.Functions, func(a, b Deployed) int {
		return cmp.Or(plan.Kind(a.Kind).Order()-plan.Kind(b.Kind).Order(), strings.Compare(a.Name, b.Name))
	})
	return m, nil
}

// Function is one function of the mesh, or an error naming the others.
func (m *Mesh) Function(name string) (Deployed, error) {
	for _, d := range m.Functions {
		if d.Name == name {
			return d, nil
		}
	}
	var names []string
	for _, d := range m.Functions {
		names = append(names, d.Name)
	}
	return Deployed{}, fmt.Errorf("mesh %s has no function, source or sink %q; it has %v", m.Name, name, names)
}

// Select is the functions a verb acts on: one by name, or all ("").
func (m *Mesh) Select(name string) ([]Deployed, error) {
	if name == "" {
		return m.Functions, nil
	}
	d, err := m.Function(name)
	if err != nil {
		return nil, err
	}
	return []Deployed{d}, nil
}
