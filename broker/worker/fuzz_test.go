package worker

import (
	"bytes"
	"encoding/json"
	"mime/multipart"
	"net/http/httptest"
	"os"
	"testing"

	"github.com/apache/pulsar-client-go/pulsaradmin/pkg/utils"
)

// FuzzRegistration feeds a register request's functionConfig and an
// update's through what the worker does with them before any process
// starts: the multipart form, Pulsar's checks, the merge of the update and
// the instance configuration. None may panic, and a configuration taken
// gives an instance configuration that encodes.
func FuzzRegistration(f *testing.F) {
	f.Add([]byte(`{"inputs":["in"],"output":"out","parallelism":2,"userConfig":{"meshc.plan":"{}"}}`), []byte(`{"inputs":["in"],"parallelism":3}`))
	f.Add([]byte(`{"topicsPattern":"persistent://public/default/a.*","timeoutMs":5,"processingGuarantees":"ATLEAST_ONCE"}`), []byte(`{"retainOrdering":true}`))
	f.Add([]byte(`{"inputSpecs":{"x":{"receiverQueueSize":-1,"regexPattern":true}},"resources":{"cpu":0}}`), []byte(`null`))
	w := &Worker{opts: Options{MaxPackageBytes: 1 << 10}, started: true, funcs: map[string]*function{}}
	f.Fuzz(func(t *testing.T, config, update []byte) {
		w.dir = t.TempDir()
		var body bytes.Buffer
		mw := multipart.NewWriter(&body)
		part, _ := mw.CreateFormField("functionConfig")
		part.Write(config)
		data, _ := mw.CreateFormFile("data", "fn")
		data.Write([]byte("#!/bin/sh\n"))
		mw.Close()
		r := httptest.NewRequest("POST", functionsPath+"/public/default/fn", &body)
		r.Header.Set("Content-Type", mw.FormDataContentType())
		fc, up, err := w.readRegistration(httptest.NewRecorder(), r, "public", "default", "fn")
		if up.file != "" {
			os.Remove(up.file)
		}
		if err != nil {
			return
		}
		if err := checkConfig(&fc, "public", "default", "fn"); err != nil {
			return
		}
		rec := &record{Config: fc}
		if _, err := json.Marshal(instanceConf(rec, 0, "pulsar://127.0.0.1:6650", "standalone", 1, 2)); err != nil {
			t.Fatalf("instance configuration of %s: %v", config, err)
		}
		var upd utils.FunctionConfig
		if json.Unmarshal(update, &upd) != nil {
			return
		}
		upd.Tenant, upd.Namespace, upd.Name = "public", "default", "fn"
		if merged, err := mergeUpdate(fc, upd); err == nil {
			checkConfig(&merged, "public", "default", "fn")
		}
	})
}
