package main

import (
	"path/filepath"

	"github.com/spf13/pflag"

	"github.com/meshc/meshc/broker"
	"github.com/meshc/meshc/broker/worker"
)

// functionsWorkerFlags are meshc broker's flags of its Functions worker.
type functionsWorkerFlags struct {
	on                   bool
	maxPackage           int64
	authPlugin, authArgs string
	trustCerts           string
}

func (f *functionsWorkerFlags) add(fs *pflag.FlagSet) {
	fs.BoolVar(&f.on, "functions-worker", true, "serve Pulsar's Functions worker API (/admin/v3/functions) on the admin endpoint and run the functions registered there as local processes")
	fs.Int64Var(&f.maxPackage, "functions-max-package-size", worker.DefaultMaxPackageBytes, "largest function package the worker takes, in bytes")
	fs.StringVar(&f.authPlugin, "functions-auth-plugin", "", "how the worker and its instances authenticate to the broker (Pulsar's clientAuthenticationPlugin: token, tls, oauth2 or their class names)")
	fs.StringVar(&f.authArgs, "functions-auth-params", "", "its parameters (Pulsar's clientAuthenticationParameters: file:///PATH of a token, tlsCertFile:PATH,tlsKeyFile:PATH, or OAuth2's JSON)")
	fs.StringVar(&f.trustCerts, "functions-tls-trust-certs", "", "PEM CAs the worker and its instances trust for a TLS broker (Pulsar's tlsTrustCertsFilePath)")
}

// attach makes the worker when it is on, keeping its functions under
// --data, and puts its calls on the broker's admin endpoint; with it off,
// those calls are answered 503. It returns nil when off.
func (f *functionsWorkerFlags) attach(cfg *broker.Config) (*worker.Worker, error) {
	if !f.on {
		cfg.AdminRoutes = append(cfg.AdminRoutes, worker.Disabled()...)
		return nil, nil
	}
	if f.maxPackage <= 0 {
		return nil, usageErrorf("--functions-max-package-size %d: want a number of bytes above 0", f.maxPackage)
	}
	opts := worker.Options{MaxPackageBytes: f.maxPackage, Logger: cfg.Logger,
		AuthPlugin: f.authPlugin, AuthParams: f.authArgs, TrustCertsFile: f.trustCerts}
	if cfg.DataDir != "" {
		opts.Dir = filepath.Join(cfg.DataDir, "functions")
	}
	w, err := worker.New(opts)
	if err != nil {
		return nil, usageErrorf("--functions-auth-plugin and --functions-auth-params: %v", err)
	}
	cfg.AdminRoutes = append(cfg.AdminRoutes, w.Routes()...)
	return w, nil
}
