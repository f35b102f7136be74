package pulsarworker

import (
	"bytes"
	"encoding/json"
	"errors"
	"io"

	"github.com/apache/pulsar-client-go/pulsaradmin/pkg/utils"

	"github.com/meshc/meshc/backends"
	"github.com/meshc/meshc/planner/plan"
)

// Files writes the FunctionConfig of each component as NAME.json, sorted
// by name: what deploy sends, and what `pulsar-admin functions create
// --function-config-file` reads (JSON is YAML). The bytes are
// encoding/json's, indented by two spaces. The configs are made at once,
// and what the worker would refuse said; each file's text is made as it
// is written, in one buffer that files take in turn.
func Files(p *plan.Plan, pk Package) ([]backends.File, error) {
	configs := make([]utils.FunctionConfig, len(p.Components))
	var errs []error
	for i := range p.Components {
		fc, err := baseConfig(p, &p.Components[i], pk)
		if err != nil {
			errs = append(errs, err)
		}
		configs[i] = fc
	}
	if len(errs) > 0 {
		return nil, errors.Join(errs...)
	}
	e := &fileEncoder{}
	files := make([]backends.File, len(configs))
	for i := range configs {
		files[i] = backends.File{Path: configs[i].Name + ".json", Write: func(w io.Writer) error {
			data, err := e.file(p, &p.Components[i], pk, &configs[i])
			if err == nil {
				_, err = w.Write(data)
			}
			return err
		}}
	}
	backends.Sort(files)
	return files, nil
}

// file writes the file of component c, whose config is fc without its
// instance plan, into the encoder's buffer, and returns its bytes, which
// the next file overwrites.
func (e *fileEncoder) file(p *plan.Plan, c *plan.Component, pk Package, fc *utils.FunctionConfig) ([]byte, error) {
	e.B, e.err, e.Depth = e.B[:0], nil, 0
	in := p.Instance(c, 0) // the instance's index comes from the worker's instanceID
	own := ownKeys(p, c, pk)
	if !e.config(fc, c, &own, &in) {
		return reflectedFile(p, c, pk)
	}
	return e.B, nil
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
