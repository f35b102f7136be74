package pulsarworker

import (
	"bytes"
	"encoding/json"
	"errors"

	"github.com/apache/pulsar-client-go/pulsaradmin/pkg/utils"

	"github.com/meshc/meshc/backends"
	"github.com/meshc/meshc/planner/plan"
)

// Files writes the FunctionConfig of each component as NAME.json, sorted
// by name: what deploy sends, and what `pulsar-admin functions create
// --function-config-file` reads (JSON is YAML). The bytes are
// encoding/json's, indented by two spaces.
func Files(p *plan.Plan, pk Package) ([]backends.File, error) {
	files := make([]backends.File, 0, len(p.Components))
	var errs []error
	e := &fileEncoder{}
	for i := range p.Components {
		c := &p.Components[i]
		fc, err := baseConfig(p, c, pk)
		if err != nil {
			errs = append(errs, err)
			continue
		}
		if len(errs) > 0 {
			continue // only the errors are wanted now
		}
		data, err := e.file(p, c, pk, &fc)
		if err != nil {
			return nil, err
		}
		files = append(files, backends.File{Path: fc.Name + ".json", Data: data})
	}
	if len(errs) > 0 {
		return nil, errors.Join(errs...)
	}
	backends.Sort(files)
	return files, nil
}

// chunkFiles is how many files of the size of the last one a fresh
// buffer takes, so that files share a few large buffers instead of each
// growing its own.
const chunkFiles = 64

// file writes the file of component c, whose config is fc without its
// instance plan, into the encoder's buffer, and returns its bytes, which
// later files do not overwrite.
func (e *fileEncoder) file(p *plan.Plan, c *plan.Component, pk Package, fc *utils.FunctionConfig) ([]byte, error) {
	start := len(e.B)
	in := p.Instance(c, 0) // the instance's index comes from the worker's instanceID
	own := ownKeys(p, c, pk)
	if !e.config(fc, c, &own, &in) {
		e.B, e.err, e.Depth = e.B[:start], nil, 0
		return reflectedFile(p, c, pk)
	}
	data := e.B[start:len(e.B):len(e.B)]
	if cap(e.B)-len(e.B) < 2*len(data) {
		e.B = make([]byte, 0, chunkFiles*len(data))
	}
	return data, nil
}

// reflectedFile writes the file of c with encoding/json, for a config
// fileEncoder does not know all of.
func reflectedFile(p *plan.Plan, c *plan.Component, pk Package) ([]byte, error) {
	fc, err := Config(p, c, pk)
	if err != nil {
		return nil, err
	}
	var b bytes.Buffer
	enc := json.NewEncoder(&b)
	enc.SetEscapeHTML(false)
	enc.SetIndent("", "  ")
	if err := enc.Encode(fc); err != nil {
		return nil, err
	}
	return b.Bytes(), nil
}
