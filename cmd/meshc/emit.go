package main

import (
	"bufio"
	"fmt"
	"io"
	"maps"
	"slices"
	"strings"

	"github.com/spf13/cobra"

	"github.com/meshc/meshc/backends"
	"github.com/meshc/meshc/backends/kubernetes"
	"github.com/meshc/meshc/compiler"
	"github.com/meshc/meshc/lang"
	"github.com/meshc/meshc/planner"
	"github.com/meshc/meshc/planner/plan"
)

// emitOptions are the emit flags a backend may read. A backend refuses a
// value it does not support.
type emitOptions struct {
	Flavour string // kubernetes: plain or functionmesh
	Driver  string // nomad: raw_exec, exec or docker
	// PulsarURL is the service URL instances connect to; "" lets the
	// backend choose its default.
	PulsarURL string
	// Binary, Artifact and Image say where the instance binary comes
	// from; "" means the plan's runtime binary and image.
	Binary   string // nomad raw_exec and exec: its path on the nodes
	Artifact string // nomad raw_exec and exec: a URL to download it from
	Image    string // nomad docker and kubernetes: the container image holding it
	// Namespace and CreateNamespace: kubernetes, the namespace written
	// into every object ("" for none: kubectl's current one), and whether
	// to emit the Namespace object too.
	Namespace       string
	CreateNamespace bool
}

// emitters turns a plan into a backend's files, by backend name. Each
// backend's file adds its entry in an init function.
var emitters = map[string]func(p *plan.Plan, o emitOptions) ([]backends.File, error){}

func newEmitCmd() *cobra.Command {
	var (
		pf      paramFlags
		backend string
		out     string
		o       emitOptions
	)
	cmd := &cobra.Command{
		Use:   "emit --backend NAME -o DIR FILE|DIR [-p NAME=VALUE]...",
		Short: "Write a mesh's deployment files for a scheduler (Nomad jobs, Kubernetes manifests)",
		Long: `emit checks and plans FILE, then writes the files a scheduler runs it from into DIR:
Nomad job specifications (JSON and HCL) or Kubernetes manifests (YAML). The output
is deterministic, fit to commit and review. With -o - the YAML documents go to
standard output, one stream, for kubectl apply -f -.`,
		Args:              cobra.ExactArgs(1),
		ValidArgsFunction: meshFiles,
		RunE: func(cmd *cobra.Command, args []string) error {
			emit, ok := emitters[backend]
			if !ok {
				return usageErrorf("--backend %q: choose one of %s", backend, strings.Join(slices.Sorted(maps.Keys(emitters)), ", "))
			}
			if out == "" {
				return usageErrorf("emit needs -o DIR (or -o - for standard output)")
			}
			if err := checkNamespaceFlags(backend, o); err != nil {
				return err
			}
			var extra []func(*compiler.Mesh) lang.Diagnostics
			if backend == "kubernetes" && o.Flavour == "functionmesh" {
				extra = append(extra, compiler.OperatorRules)
			}
			if backend == "kubernetes" && o.Image == "" {
				extra = append(extra, compiler.ImageFiles(kubernetes.DefaultImage))
			}
			m, sources, err := compileMeshSources(cmd, args[0], &pf, extra...)
			if err != nil {
				return err
			}
			// The files are made once: what the backend refuses in the
			// mesh is said at its place in the source, as check says it.
			// Only where its parts were written is kept of the mesh beside
			// its plan and files.
			places := m.Places()
			p := planner.Plan(m, planOptions(args[0]))
			m = nil
			files, err := emit(p, o)
			if ds := meshDiagnostics(places, err); len(ds) > 0 {
				sources.Render(cmd.ErrOrStderr(), ds)
				return failed()
			}
			if err != nil {
				return &exitError{code: exitFail, err: err}
			}
			// The objects are measured as they are written: the largest
			// files are made only then.
			report := func() ([]string, error) { return nil, nil }
			if backend == "kubernetes" {
				warnTagImages(cmd.ErrOrStderr(), kubernetes.TagImages(p, kubeOptions(o)))
				files, report = kubernetes.Measure(files)
			}
			if out == "-" {
				err = writeStream(cmd, backend, files)
			} else {
				err = backends.Write(out, files)
			}
			if err == nil {
				err = warnOversized(cmd.ErrOrStderr(), report)
			}
			if err != nil {
				return &exitError{code: exitFail, err: err}
			}
			if out != "-" {
				fmt.Fprintf(cmd.ErrOrStderr(), "wrote %d files to %s\n", len(files), out)
			}
			return nil
		},
	}
	pf.register(cmd)
	cmd.Flags().StringVar(&backend, "backend", "", "the scheduler to emit for: kubernetes, nomad or pulsar (each function's FunctionConfig, NAME.json)")
	cmd.Flags().StringVarP(&out, "output", "o", "", "the folder to write into, or - for one YAML stream on standard output")
	cmd.Flags().StringVar(&o.Flavour, "flavour", "plain", "kubernetes: plain (Deployments and friends) or functionmesh (the operator's custom resources)")
	cmd.Flags().StringVar(&o.PulsarURL, "pulsar-url", "", "the Pulsar service URL instances connect to (default: the backend's)")
	cmd.Flags().StringVar(&o.Driver, "driver", "raw_exec", "nomad: the task driver, raw_exec, exec or docker")
	cmd.Flags().StringVar(&o.Binary, "binary", "", "the instance binary: its path on Nomad's nodes or in the image (default: the plan's, meshrt)")
	cmd.Flags().StringVar(&o.Artifact, "artifact", "", "nomad: a URL the nodes download the instance binary from")
	cmd.Flags().StringVar(&o.Image, "image", "", "the instance container image, for Kubernetes and Nomad's docker driver (default: the plan's); REF@sha256:DIGEST pins it")
	cmd.Flags().StringVar(&o.Namespace, "namespace", "", "kubernetes: the namespace every object names (default: none, kubectl's current one)")
	cmd.Flags().BoolVar(&o.CreateNamespace, "create-namespace", false, "kubernetes: also emit the Namespace object, first (needs --namespace)")
	return cmd
}

// checkNamespaceFlags refuses namespace flags the backend would ignore.
func checkNamespaceFlags(backend string, o emitOptions) error {
	if backend != "kubernetes" && (o.Namespace != "" || o.CreateNamespace) {
		return usageErrorf("--namespace and --create-namespace are for --backend kubernetes")
	}
	if o.CreateNamespace && o.Namespace == "" {
		return usageErrorf("--create-namespace needs --namespace NAME")
	}
	return nil
}

// warnTagImages warns, once, of images named by a tag: a tag can move to
// other code under a running mesh, a digest cannot.
func warnTagImages(w io.Writer, tags []string) {
	if len(tags) == 0 {
		return
	}
	what := "the image " + tags[0] + " is"
	if len(tags) > 1 {
		what = "the images " + strings.Join(tags, ", ") + " are"
	}
	fmt.Fprintf(w, "meshc: warning: %s named by a tag, which can move to another image under a running mesh: pods started later "+
		"(a restart, a rescale, a drained node) would run other code than the rest; pass --image REF@sha256:DIGEST, "+
		"the digest meshc image prints\n", what)
}

// warnOversized warns of objects larger than a cluster stores by default,
// which deploy refuses, as report lists them.
func warnOversized(w io.Writer, report func() ([]string, error)) error {
	big, err := report()
	for _, b := range big {
		fmt.Fprintf(w, "meshc: warning: %s, more than the %.1f MiB a cluster stores with etcd's defaults: applying it fails; "+
			"use --flavour plain (objects of their own for each function), or split the mesh into several meshes\n", b, float64(kubernetes.MaxObjectBytes)/(1<<20))
	}
	return err
}

// writeStream joins YAML files into one multi-document stream, fit for
// kubectl apply -f -: only resources, so kustomize's files stay out. Each
// file is written as it is made.
func writeStream(cmd *cobra.Command, backend string, files []backends.File) error {
	out := &lastByte{w: bufio.NewWriterSize(cmd.OutOrStdout(), streamBuffer)}
	for _, f := range files {
		if !kubernetes.IsResource(f.Path) {
			continue
		}
		if out.n > 0 {
			out.Write([]byte("---\n"))
		}
		start := out.n
		var err error
		if f.Write != nil {
			err = f.Write(out)
		} else {
			_, err = out.Write(f.Data)
		}
		if err != nil {
			return err
		}
		if out.n > start && out.last != '\n' {
			out.Write([]byte{'\n'})
		}
	}
	if out.n == 0 {
		return usageErrorf("backend %s writes no YAML: give -o DIR", backend)
	}
	return out.w.Flush()
}

// streamBuffer is what standard output is written in.
const streamBuffer = 64 << 10

// lastByte is a writer that remembers the last byte written through it.
type lastByte struct {
	w    *bufio.Writer
	last byte
	n    int64
}

func (l *lastByte) Write(p []byte) (int, error) {
	if len(p) > 0 {
		l.last = p[len(p)-1]
		l.n += int64(len(p))
	}
	return l.w.Write(p)
}
