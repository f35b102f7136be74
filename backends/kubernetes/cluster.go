package kubernetes

import (
	"fmt"
	"net/http"

	"k8s.io/apimachinery/pkg/api/meta"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/client-go/discovery"
	"k8s.io/client-go/discovery/cached/memory"
	"k8s.io/client-go/dynamic"
	"k8s.io/client-go/rest"
	"k8s.io/client-go/restmapper"
	"k8s.io/client-go/tools/clientcmd"
	clientcmdapi "k8s.io/client-go/tools/clientcmd/api"
)

// FieldManager is the name meshc's server-side applies own their fields by.
const FieldManager = "meshc"

// Cluster is a Kubernetes cluster meshc deploys meshes to.
type Cluster struct {
	dyn       dynamic.Interface
	mapper    *restmapper.DeferredDiscoveryRESTMapper
	http      *http.Client // for pod logs, which are not objects
	host      string
	namespace string // the default for objects that name none
}

// ConnectOptions say how to reach the cluster, as kubectl's flags do.
type ConnectOptions struct {
	Kubeconfig string // default $KUBECONFIG, else ~/.kube/config
	Context    string // default the kubeconfig's current context
	Namespace  string // default the context's namespace, else "default"
}

// Connect reaches the cluster as kubectl would with the same flags.
func Connect(o ConnectOptions) (*Cluster, error) {
	rules := clientcmd.NewDefaultClientConfigLoadingRules()
	rules.ExplicitPath = o.Kubeconfig
	cc := clientcmd.NewNonInteractiveDeferredLoadingClientConfig(rules, &clientcmd.ConfigOverrides{
		CurrentContext: o.Context, Context: clientcmdapi.Context{Namespace: o.Namespace}})
	cfg, err := cc.ClientConfig()
	if err != nil {
		return nil, fmt.Errorf("finding the cluster: %w (point --kubeconfig or $KUBECONFIG at a kubeconfig, or choose --context)", err)
	}
	ns, _, err := cc.Namespace()
	if err != nil {
		return nil, fmt.Errorf("finding the namespace: %w", err)
	}
	return NewCluster(cfg, ns)
}

// NewCluster reaches the cluster of cfg; namespace is where objects that
// name none go.
func NewCluster(cfg *rest.Config, namespace string) (*Cluster, error) {
	cfg = withClientRateLimit(cfg)
	dyn, err := dynamic.NewForConfig(cfg)
	if err != nil {
		return nil, err
	}
	disc, err := discovery.NewDiscoveryClientForConfig(cfg)
	if err != nil {
		return nil, err
	}
	hc, err := rest.HTTPClientFor(cfg)
	if err != nil {
		return nil, err
	}
	if namespace == "" {
		namespace = "default"
	}
	return &Cluster{dyn: dyn, mapper: restmapper.NewDeferredDiscoveryRESTMapper(memory.NewMemCacheClient(disc)),
		http: hc, host: cfg.Host, namespace: namespace}, nil
}

// client-go throttles each client to 5 requests a second by default, so a
// mesh of a few hundred objects took a minute to apply; kubectl raised its
// own limits to these for the same reason. The API server's priority and
// fairness still protects the cluster.
const (
	clientQPS   = 50
	clientBurst = 300
)

// withClientRateLimit sets kubectl's client-side rate limit on a copy of
// cfg, unless cfg sets its own.
func withClientRateLimit(cfg *rest.Config) *rest.Config {
	if cfg.QPS != 0 || cfg.RateLimiter != nil {
		return cfg
	}
	cfg = rest.CopyConfig(cfg)
	cfg.QPS, cfg.Burst = clientQPS, clientBurst
	return cfg
}

// Namespace is where the cluster puts objects that name none.
func (cl *Cluster) Namespace() string { return cl.namespace }

// resource finds the API resource of a kind, in ns when it is namespaced.
func (cl *Cluster) resource(apiVersion, kind, ns string) (dynamic.ResourceInterface, bool, error) {
	gvk := schema.FromAPIVersionAndKind(apiVersion, kind)
	m, err := cl.mapper.RESTMapping(gvk.GroupKind(), gvk.Version)
	if err != nil {
		cl.mapper.Reset() // a CRD installed meanwhile
		if m, err = cl.mapper.RESTMapping(gvk.GroupKind(), gvk.Version); err != nil {
			return nil, false, fmt.Errorf("the cluster at %s does not serve %s %s: %w", cl.host, apiVersion, kind, err)
		}
	}
	if m.Scope.Name() != meta.RESTScopeNameNamespace {
		return cl.dyn.Resource(m.Resource), false, nil
	}
	if ns == "" {
		ns = cl.namespace
	}
	return cl.dyn.Resource(m.Resource).Namespace(ns), true, nil
}
