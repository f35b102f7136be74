package main

import (
	"path/filepath"

	"github.com/spf13/pflag"

	"github.com/meshc/meshc/broker"
	"github.com/meshc/meshc/broker/worker"
)

// functionsWorkerFlags are meshc broker's flags of its Functions worker.
type functionsWorkerFlags struct {
	on         bool
	maxPackage int64
}

func (f *functionsWorkerFlags) add(fs *pflag.FlagSet) {
	fs.BoolVar(&f.on, "functions-worker", true, "serve Pulsar's Functions worker API (/admin/v3/functions) on the admin endpoint and run the functions registered there as local processes")
	fs.Int64Var(&f.maxPackage, "functions-max-package-size", worker.DefaultMaxPackageBytes, "largest function package the worker takes, in bytes")
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
	opts := worker.Options{MaxPackageBytes: f.maxPackage, Logger: cfg.Logger}
	if cfg.DataDir != "" {
		opts.Dir = filepath.Join(cfg.DataDir, "functions")
	}
	w, err := worker.New(opts)
	if err != nil {
		return nil, err
	}
	cfg.AdminRoutes = append(cfg.AdminRoutes, w.Routes()...)
	return w, nil
}
