package worker

import (
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"sort"

	"github.com/apache/pulsar-client-go/pulsaradmin/pkg/utils"
)

// record is what the worker keeps of one registered function, as Pulsar's
// FunctionMetaData does: its configuration, where its package is, and a
// version that each update raises.
type record struct {
	Config     utils.FunctionConfig `json:"config"`
	FunctionID string               `json:"functionId"`
	Version    int64                `json:"version"`
	CreateTime int64                `json:"createTime"`
	// Package is the path of the stored package; PackageURL the URL it
	// was registered with, if any.
	Package    string `json:"package"`
	PackageURL string `json:"packageUrl,omitempty"`
	// Stopped lists the instances stopped through the API, which stay
	// stopped across a restart of the worker, as in Pulsar.
	Stopped []int `json:"stopped,omitempty"`
}

func (r *record) fqfn() string { return fqfn(r.Config.Tenant, r.Config.Namespace, r.Config.Name) }

func fqfn(tenant, namespace, name string) string { return tenant + "/" + namespace + "/" + name }

// registryFile holds every record, rewritten whole on each change.
const registryFile = "functions.json"

// loadRecords reads the records kept in dir; none when there is no file.
func loadRecords(dir string) ([]*record, error) {
	data, err := os.ReadFile(filepath.Join(dir, registryFile))
	if errors.Is(err, fs.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("reading the registered functions: %w", err)
	}
	var recs []*record
	if err := json.Unmarshal(data, &recs); err != nil {
		return nil, fmt.Errorf("%s is damaged (%w); move it away to start with no functions", filepath.Join(dir, registryFile), err)
	}
	return recs, nil
}

// saveRecords writes the records to dir through a temporary file renamed
// into place, so a crash leaves the old list or the new one.
func saveRecords(dir string, recs map[string]*record) error {
	list := make([]*record, 0, len(recs))
	for _, r := range recs {
		list = append(list, r)
	}
	sort.Slice(list, func(i, j int) bool { return list[i].fqfn() < list[j].fqfn() })
	data, err := json.MarshalIndent(list, "", "  ")
	if err != nil {
		return err
	}
	tmp := filepath.Join(dir, registryFile+".tmp")
	if err := os.WriteFile(tmp, data, 0o600); err != nil {
		return fmt.Errorf("saving the registered functions: %w", err)
	}
	if err := os.Rename(tmp, filepath.Join(dir, registryFile)); err != nil {
		return fmt.Errorf("saving the registered functions: %w", err)
	}
	return nil
}
