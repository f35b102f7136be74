package main

import (
	"regexp"
	"runtime/debug"
	"strings"

	"github.com/meshc/meshc/backends"
	"github.com/meshc/meshc/backends/kubernetes"
	"github.com/meshc/meshc/planner/plan"
)

func init() {
	emitters["kubernetes"] = func(p *plan.Plan, o emitOptions) ([]backends.File, error) {
		return kubernetes.Emit(p, kubeOptions(o))
	}
}

func kubeOptions(o emitOptions) kubernetes.Options {
	return kubernetes.Options{Flavour: o.Flavour, PulsarURL: o.PulsarURL, Image: o.Image, Binary: o.Binary,
		Namespace: o.Namespace, CreateNamespace: o.CreateNamespace, Version: meshcVersion()}
}

// develVersion labels what a build that is not a release emits.
const develVersion = "devel"

// pseudoVersion matches the version Go stamps on a build of an untagged
// commit: v0.0.0-YYYYMMDDhhmmss-COMMIT, or after a tag vX.Y.(Z+1)-0.DATE-COMMIT.
var pseudoVersion = regexp.MustCompile(`[-.]\d{14}-[0-9a-f]{12}$`)

// meshcVersion is the version emitted objects and pods carry in
// app.kubernetes.io/version: the release meshc was built from
// (go install ...@v1.2.0), else develVersion. A build from a checkout
// (its pseudo-version, "+dirty" when edited) or a test binary ("(devel)")
// says devel, so that neither goldens nor the pods of someone who rebuilds
// meshc change with each commit: the label is in the pod template, and a
// new value rolls every pod.
func meshcVersion() string {
	info, ok := debug.ReadBuildInfo()
	if !ok {
		return develVersion
	}
	return releaseVersion(info.Main.Version)
}

// releaseVersion is v when it names a release, else develVersion.
func releaseVersion(v string) string {
	if v == "" || v == "(devel)" || strings.Contains(v, "+") || pseudoVersion.MatchString(v) {
		return develVersion
	}
	return v
}
