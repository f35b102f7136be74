package pulsarworker

import (
	"encoding/json"
	"os"
	"testing"

	"github.com/apache/pulsar-client-go/pulsaradmin/pkg/utils"
)

// FuzzDeployed reads function configurations as a worker may answer them,
// any user config at all, and compares them with what wordcount wants:
// nothing panics, and a function that is not wordcount's is never changed.
func FuzzDeployed(f *testing.F) {
	golden, err := os.ReadFile("testdata/golden/wordcount.json")
	if err != nil {
		f.Fatal(err)
	}
	f.Add(golden)
	f.Add([]byte(`{"split": {"name": "split", "userConfig": {"meshc.mesh": 7, "meshc.hash": null}}}`))
	f.Add([]byte(`{"x": {"name": "x", "parallelism": -1, "userConfig": {"meshc.mesh": "wordcount", "meshc.kind": "sink"}}}`))
	want, err := Configs(planFile(f, "../../examples/wordcount.mesh", nil), testPackage)
	if err != nil {
		f.Fatal(err)
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		var byName map[string]utils.FunctionConfig
		if json.Unmarshal(data, &byName) != nil {
			return
		}
		var have []Deployed
		theirs := map[string]bool{}
		for name, fc := range byName {
			fc.Name = name
			d := deployedOf(fc)
			have = append(have, d)
			if d.Mesh != "wordcount" {
				theirs[name] = true
			}
		}
		changes, err := Changes("wordcount", want, have)
		if err != nil {
			return // another's function of a wanted name
		}
		for _, c := range changes {
			if theirs[c.Name] && c.Action != Create {
				t.Errorf("%s, not wordcount's, would be %s", c.Name, c.Action)
			}
		}
	})
}
