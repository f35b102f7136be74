package pulsarworker

import (
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/url"

	"github.com/apache/pulsar-client-go/pulsaradmin/pkg/rest"
)

// What goes wrong between meshc and a Functions worker, for errors.Is.
var (
	// ErrUnreachable: nothing answers at the admin URL.
	ErrUnreachable = errors.New("cannot reach Pulsar's admin API")
	// ErrWorkerOff: the admin API answers, the Functions worker does not
	// (404 or 503 on admin/v3/functions).
	ErrWorkerOff = errors.New("the Pulsar Functions worker is not running")
	// ErrTooLarge: the worker refuses the package's size (413).
	ErrTooLarge = errors.New("the package is too large for the worker")
	// ErrRefused: the worker refuses the call (400), with its reason.
	ErrRefused = errors.New("the worker refuses it")
	// ErrDenied: the credentials are refused, or the role lacks a grant.
	ErrDenied = errors.New("the credentials are refused")
	// ErrForeign: a function of the mesh's name is another's.
	ErrForeign = errors.New("functions of the same names are not this mesh's")
	// ErrNoMesh: the namespace holds no function of the mesh.
	ErrNoMesh = errors.New("no such mesh on the worker")
	// ErrNotReady: instances that do not run by the deadline.
	ErrNotReady = errors.New("not every instance runs")
)

// errUnwritten fails a config file with a field the file encoder does not
// write; the file then goes to encoding/json, and no user sees it.
var errUnwritten = errors.New("a field the file encoder does not write")

// statusOf is the HTTP status of an admin error, 0 if it is none.
func statusOf(err error) int {
	var re rest.Error
	if errors.As(err, &re) {
		return re.Code
	}
	return 0
}

func reasonOf(err error) string {
	var re rest.Error
	if errors.As(err, &re) && re.Reason != "" {
		return re.Reason
	}
	return err.Error()
}

// explain turns an admin call's error into what the user should know:
// what failed (what), why, and what to do next.
func (w *Worker) explain(err error, what string) error {
	if err == nil {
		return nil
	}
	var ne net.Error
	var ue *url.Error
	switch code := statusOf(err); {
	case code == http.StatusServiceUnavailable:
		return fmt.Errorf("%s: %w at %s (503: %s): enable it (functionsWorkerEnabled=true; meshc broker --functions-worker) or wait until it is up", what, ErrWorkerOff, w.url, reasonOf(err))
	case code == http.StatusRequestEntityTooLarge:
		return fmt.Errorf("%s: %w at %s (413: %s): raise the worker's upload limit, or put the binary where the worker can fetch it and pass --package-url URL", what, ErrTooLarge, w.url, reasonOf(err))
	case code == http.StatusUnauthorized || code == http.StatusForbidden:
		return fmt.Errorf("%s: %w at %s (%d: %s): check the token, OAuth2 client or client certificate, and that its role may manage functions in the namespace", what, ErrDenied, w.url, code, reasonOf(err))
	case code == http.StatusBadRequest:
		return fmt.Errorf("%s: %w (400: %s)", what, ErrRefused, reasonOf(err))
	case code != 0:
		return fmt.Errorf("%s: the worker at %s answered %d: %s", what, w.url, code, reasonOf(err))
	case errors.As(err, &ne) || errors.As(err, &ue):
		return fmt.Errorf("%s: %w at %s: %v: check --admin-url (Pulsar's web service URL, such as http://HOST:8080) and that Pulsar runs there", what, ErrUnreachable, w.url, err)
	}
	return fmt.Errorf("%s: %w", what, err)
}

// isNotFound tells a 404 of a thing that is not there.
func isNotFound(err error) bool { return statusOf(err) == http.StatusNotFound }

// isConflict tells a 409 of a thing that exists already.
func isConflict(err error) bool { return statusOf(err) == http.StatusConflict }
