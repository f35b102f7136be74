package kubernetes

import (
	"bytes"
	"encoding/json"
	"fmt"
	"strings"

	sigsyaml "sigs.k8s.io/yaml"

	"github.com/meshc/meshc/backends"
)

// MaxObjectBytes is the largest object, as JSON, that a cluster stores with
// etcd's default --max-request-bytes (1.5 MiB): a larger one is refused
// when it is applied, after the objects applied before it.
const MaxObjectBytes = 3 << 19

// Oversized lists the objects of files larger than MaxObjectBytes as JSON,
// each as "FILE: KIND NAME is N MiB". A document's YAML is never shorter
// than its compact JSON by much, so only documents whose YAML comes near
// the limit are converted to be measured.
func Oversized(files []backends.File) ([]string, error) {
	var out []string
	for _, f := range files {
		if !IsResource(f.Path) || len(f.Data) < MaxObjectBytes/2 {
			continue
		}
		for _, doc := range bytes.Split(f.Data, []byte("\n---\n")) {
			if len(doc) < MaxObjectBytes/2 {
				continue
			}
			j, err := sigsyaml.YAMLToJSON(doc)
			if err != nil {
				return nil, fmt.Errorf("reading %s: %w", f.Path, err)
			}
			if len(j) <= MaxObjectBytes {
				continue
			}
			var meta struct {
				Kind     string `json:"kind"`
				Metadata struct {
					Name string `json:"name"`
				} `json:"metadata"`
			}
			if err := json.Unmarshal(j, &meta); err != nil {
				return nil, fmt.Errorf("reading %s: %w", f.Path, err)
			}
			out = append(out, fmt.Sprintf("%s: %s %s is %.1f MiB", f.Path, meta.Kind, meta.Metadata.Name, float64(len(j))/(1<<20)))
		}
	}
	return out, nil
}

// refuseOversized fails a deploy, before anything is applied, when an
// object is larger than the cluster would store.
func refuseOversized(files []backends.File) error {
	big, err := Oversized(files)
	if err != nil || len(big) == 0 {
		return err
	}
	return fmt.Errorf("%w: %s; nothing was applied: deploy a mesh this large with --flavour plain (objects of their own for each function), or split it into several meshes",
		errTooLarge, strings.Join(big, "; "))
}

// errTooLarge is an object larger than MaxObjectBytes.
var errTooLarge = fmt.Errorf("objects larger than the %.1f MiB a cluster stores with etcd's defaults", float64(MaxObjectBytes)/(1<<20))
