package main

import (
	"github.com/meshc/meshc/backends"
	"github.com/meshc/meshc/backends/kubernetes"
	"github.com/meshc/meshc/planner/plan"
)

func init() {
	emitters["kubernetes"] = func(p *plan.Plan, o emitOptions) ([]backends.File, error) {
		return kubernetes.Emit(p, kubernetes.Options{Flavour: o.Flavour, PulsarURL: o.PulsarURL, Image: o.Image, Binary: o.Binary})
	}
}
