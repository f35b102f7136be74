package worker

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"mime/multipart"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"strconv"
	"strings"

	"github.com/apache/pulsar-client-go/pulsaradmin/pkg/utils"

	"github.com/meshc/meshc/broker"
)

// functionsPath is the root of Pulsar's Functions worker API.
const functionsPath = "/admin/v3/functions"

// maxFormField bounds a multipart field other than the package: a
// functionConfig, a URL, a state, a trigger value.
const maxFormField = 1 << 20

// Routes are the worker's calls, for broker.Config.AdminRoutes: reads
// need consume on the namespace, changes produce.
func (w *Worker) Routes() []broker.AdminRoute {
	ns := functionsPath + "/{tenant}/{namespace}"
	return []broker.AdminRoute{
		{Pattern: "GET " + ns, Handler: w.serveList},
		{Pattern: "GET " + ns + "/{rest...}", Handler: w.serve},
		{Pattern: "POST " + ns + "/{rest...}", Write: true, Handler: w.serve},
		{Pattern: "PUT " + ns + "/{rest...}", Write: true, Handler: w.serve},
		{Pattern: "DELETE " + ns + "/{rest...}", Write: true, Handler: w.serve},
	}
}

// Disabled are routes that answer every call of the worker API with 503,
// for a broker that runs without the worker, so that clients learn why.
func Disabled() []broker.AdminRoute {
	h := func(rw http.ResponseWriter, r *http.Request) {
		writeError(rw, fail(errUnavailable, nil, "Function worker service is not enabled: start meshc broker with --functions-worker"))
	}
	return []broker.AdminRoute{{Pattern: functionsPath + "/", Handler: h}}
}

func (w *Worker) serveList(rw http.ResponseWriter, r *http.Request) {
	names, err := w.list(r.PathValue("tenant"), r.PathValue("namespace"))
	if err != nil {
		writeError(rw, err)
		return
	}
	writeJSON(rw, names)
}

// serve dispatches a call on a function by the rest of its path:
// NAME, NAME/VERB, NAME/state/KEY, NAME/INSTANCE/VERB.
func (w *Worker) serve(rw http.ResponseWriter, r *http.Request) {
	tenant, namespace := r.PathValue("tenant"), r.PathValue("namespace")
	segs, err := restSegments(r)
	if err != nil || len(segs) == 0 {
		writeError(rw, fail(errBadRequest, err, "Function Name is not provided"))
		return
	}
	name := segs[0]
	switch {
	case len(segs) == 1:
		w.serveFunction(rw, r, tenant, namespace, name)
	case len(segs) == 2:
		w.serveVerb(rw, r, tenant, namespace, name, segs[1], -1)
	case len(segs) == 3 && segs[1] == "state":
		w.serveState(rw, r, tenant, namespace, name, segs[2])
	case len(segs) == 3:
		id, err := strconv.Atoi(segs[1])
		if err != nil || id < 0 {
			writeError(rw, fail(errBadRequest, nil, fmt.Sprintf("instance id %q: want 0 or more", segs[1])))
			return
		}
		w.serveVerb(rw, r, tenant, namespace, name, segs[2], id)
	default:
		writeError(rw, fail(errNotFound, nil, "no such call of the Functions worker API: "+r.Method+" "+r.URL.Path))
	}
}

// restSegments splits the path after the namespace into its unescaped
// segments, so that a state key may hold an escaped slash.
func restSegments(r *http.Request) ([]string, error) {
	prefix := functionsPath + "/" + url.PathEscape(r.PathValue("tenant")) + "/" + url.PathEscape(r.PathValue("namespace")) + "/"
	rest, ok := strings.CutPrefix(r.URL.EscapedPath(), prefix)
	if !ok {
		rest = r.PathValue("rest")
	}
	var out []string
	for s := range strings.SplitSeq(strings.Trim(rest, "/"), "/") {
		if s == "" {
			continue
		}
		u, err := url.PathUnescape(s)
		if err != nil {
			return nil, err
		}
		out = append(out, u)
	}
	return out, nil
}

func (w *Worker) serveFunction(rw http.ResponseWriter, r *http.Request, tenant, namespace, name string) {
	switch r.Method {
	case http.MethodGet:
		fc, err := w.get(tenant, namespace, name)
		if err != nil {
			writeError(rw, err)
			return
		}
		writeJSON(rw, fc)
	case http.MethodPost, http.MethodPut:
		fc, up, err := w.readRegistration(rw, r, tenant, namespace, name)
		if err == nil {
			if r.Method == http.MethodPost {
				err = w.register(r.Context(), fc, up)
			} else {
				err = w.update(r.Context(), fc, up)
			}
		}
		if up.file != "" {
			os.Remove(up.file) // left only when it was not stored
		}
		if err != nil {
			writeError(rw, err)
			return
		}
		rw.WriteHeader(http.StatusNoContent)
	case http.MethodDelete:
		if err := w.deregister(r.Context(), tenant, namespace, name); err != nil {
			writeError(rw, err)
			return
		}
		rw.WriteHeader(http.StatusNoContent)
	}
}

// readRegistration reads the multipart form of a register or update:
// functionConfig (JSON), and data (the package) or url; updateOptions is
// read and ignored.
func (w *Worker) readRegistration(rw http.ResponseWriter, r *http.Request, tenant, namespace, name string) (utils.FunctionConfig, upload, error) {
	var fc utils.FunctionConfig
	var up upload
	w.mu.Lock()
	err := w.usable()
	w.mu.Unlock()
	if err != nil {
		return fc, up, err
	}
	r.Body = http.MaxBytesReader(rw, r.Body, w.opts.MaxPackageBytes+maxFormField)
	mr, err := r.MultipartReader()
	if err != nil {
		return fc, up, fail(errBadRequest, err, "the request must be multipart/form-data with a functionConfig")
	}
	sawConfig := false
	for {
		part, err := mr.NextPart()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			return fc, up, readFailure(err, w.opts.MaxPackageBytes)
		}
		switch part.FormName() {
		case "functionConfig":
			data, err := io.ReadAll(io.LimitReader(part, maxFormField))
			if err != nil {
				return fc, up, readFailure(err, w.opts.MaxPackageBytes)
			}
			if err := json.Unmarshal(data, &fc); err != nil {
				return fc, up, fail(errBadRequest, err, "functionConfig is not a FunctionConfig")
			}
			sawConfig = true
		case "url":
			data, err := io.ReadAll(io.LimitReader(part, maxFormField))
			if err != nil {
				return fc, up, readFailure(err, w.opts.MaxPackageBytes)
			}
			up.url = strings.TrimSpace(string(data))
		case "data":
			if up.file, err = w.saveUpload(part); err != nil {
				return fc, up, err
			}
			up.fileName = part.FileName()
		}
	}
	if !sawConfig {
		return fc, up, fail(errBadRequest, nil, "Function config is not provided")
	}
	fc.Tenant, fc.Namespace, fc.Name = tenant, namespace, name
	return fc, up, nil
}

// saveUpload writes an uploaded package to a temporary file of the
// worker's directory.
func (w *Worker) saveUpload(part *multipart.Part) (string, error) {
	w.mu.Lock()
	err := w.ensureDir()
	dir := w.dir
	w.mu.Unlock()
	if err != nil {
		return "", err
	}
	return storePackage(filepath.Join(dir, "uploads"), 0, "upload-"+newID(), part, w.opts.MaxPackageBytes)
}

// readFailure says why a request body could not be read: too large, or
// malformed.
func readFailure(err error, max int64) error {
	var mbe *http.MaxBytesError
	if errors.As(err, &mbe) {
		return tooLarge(max)
	}
	return fail(errBadRequest, err, "the request body could not be read")
}

func (w *Worker) serveVerb(rw http.ResponseWriter, r *http.Request, tenant, namespace, name, verb string, id int) {
	switch {
	case r.Method == http.MethodGet && verb == "status" && id < 0:
		st, err := w.status(tenant, namespace, name)
		respond(rw, st, err)
	case r.Method == http.MethodGet && verb == "status":
		st, err := w.instanceStatusOf(tenant, namespace, name, id)
		respond(rw, st, err)
	case r.Method == http.MethodGet && verb == "stats" && id < 0:
		st, err := w.stats(tenant, namespace, name)
		respond(rw, st, err)
	case r.Method == http.MethodGet && verb == "stats":
		st, err := w.instanceStatsOf(tenant, namespace, name, id)
		respond(rw, st, err)
	case r.Method == http.MethodPost && (verb == "start" || verb == "stop" || verb == "restart"):
		if err := w.act(tenant, namespace, name, id, instanceAction(verb)); err != nil {
			writeError(rw, err)
			return
		}
		rw.WriteHeader(http.StatusNoContent)
	case r.Method == http.MethodPost && verb == "trigger" && id < 0:
		w.serveTrigger(rw, r, tenant, namespace, name)
	default:
		writeError(rw, fail(errNotFound, nil, "no such call of the Functions worker API: "+r.Method+" "+r.URL.Path))
	}
}

// serveTrigger reads the trigger form (data or dataStream, and topic) and
// answers the output as text, 204 when the function has no output.
func (w *Worker) serveTrigger(rw http.ResponseWriter, r *http.Request, tenant, namespace, name string) {
	r.Body = http.MaxBytesReader(rw, r.Body, maxFormField*5)
	if err := r.ParseMultipartForm(maxFormField * 5); err != nil {
		writeError(rw, fail(errBadRequest, err, "the request must be multipart/form-data with data or dataStream"))
		return
	}
	var data []byte
	switch {
	case r.MultipartForm.File["dataStream"] != nil:
		f, err := r.MultipartForm.File["dataStream"][0].Open()
		if err == nil {
			data, err = io.ReadAll(f)
			f.Close()
		}
		if err != nil {
			writeError(rw, fail(errBadRequest, err, "dataStream could not be read"))
			return
		}
	case r.FormValue("data") != "":
		data = []byte(r.FormValue("data"))
	default:
		writeError(rw, fail(errBadRequest, nil, "Trigger Data is not provided"))
		return
	}
	out, ok, err := w.trigger(r.Context(), tenant, namespace, name, r.FormValue("topic"), data)
	switch {
	case err != nil:
		writeError(rw, err)
	case !ok:
		rw.WriteHeader(http.StatusNoContent)
	default:
		rw.Header().Set("Content-Type", "application/json")
		io.WriteString(rw, out)
	}
}

func (w *Worker) serveState(rw http.ResponseWriter, r *http.Request, tenant, namespace, name, key string) {
	switch r.Method {
	case http.MethodGet:
		st, err := w.stateOf(r.Context(), tenant, namespace, name, key)
		respond(rw, st, err)
	case http.MethodPost:
		r.Body = http.MaxBytesReader(rw, r.Body, maxFormField*5)
		if err := r.ParseMultipartForm(maxFormField * 5); err != nil {
			writeError(rw, fail(errBadRequest, err, "the request must be multipart/form-data with a state"))
			return
		}
		var st utils.FunctionState
		if err := json.Unmarshal([]byte(r.FormValue("state")), &st); err != nil {
			writeError(rw, fail(errBadRequest, err, "state is not a FunctionState"))
			return
		}
		if err := w.putState(r.Context(), tenant, namespace, name, key, st); err != nil {
			writeError(rw, err)
			return
		}
		rw.WriteHeader(http.StatusOK)
	default:
		writeError(rw, fail(errNotFound, nil, "no such call of the Functions worker API: "+r.Method+" "+r.URL.Path))
	}
}

func respond(rw http.ResponseWriter, v any, err error) {
	if err != nil {
		writeError(rw, err)
		return
	}
	writeJSON(rw, v)
}

func writeJSON(rw http.ResponseWriter, v any) {
	rw.Header().Set("Content-Type", "application/json")
	json.NewEncoder(rw).Encode(v)
}

// writeError answers in Pulsar's error shape, {"reason": "..."}, with the
// status of the error's kind.
func writeError(rw http.ResponseWriter, err error) {
	rw.Header().Set("Content-Type", "application/json")
	rw.WriteHeader(statusOf(err))
	json.NewEncoder(rw).Encode(map[string]string{"reason": err.Error()})
}
