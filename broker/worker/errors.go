package worker

import (
	"errors"
	"net/http"
)

// The kinds of failure a caller of the worker API sees, each answered with
// the status code Pulsar's worker gives it.
var (
	// errNotFound: no such function, instance or state key (404).
	errNotFound = errors.New("not found")
	// errBadRequest: a request the worker refuses as Pulsar's does,
	// including registering a function that exists (400).
	errBadRequest = errors.New("bad request")
	// errTooLarge: a package over the worker's size limit (413).
	errTooLarge = errors.New("package too large")
	// errUnavailable: the worker is not serving yet or any more (503).
	errUnavailable = errors.New("worker unavailable")
	// errTimeout: a trigger whose output did not come in time (408).
	errTimeout = errors.New("timed out")
)

// statusOf is the HTTP status of err, by the kind it wraps.
func statusOf(err error) int {
	switch {
	case errors.Is(err, errNotFound):
		return http.StatusNotFound
	case errors.Is(err, errBadRequest):
		return http.StatusBadRequest
	case errors.Is(err, errTooLarge):
		return http.StatusRequestEntityTooLarge
	case errors.Is(err, errUnavailable):
		return http.StatusServiceUnavailable
	case errors.Is(err, errTimeout):
		return http.StatusRequestTimeout
	}
	return http.StatusInternalServerError
}

// kindError is an error of one kind whose message is the reason alone, as
// Pulsar's {"reason": ...} carries it.
type kindError struct {
	kind   error
	reason string
	cause  error
}

func (e *kindError) Error() string {
	if e.cause != nil {
		return e.reason + ": " + e.cause.Error()
	}
	return e.reason
}

func (e *kindError) Unwrap() []error {
	if e.cause != nil {
		return []error{e.kind, e.cause}
	}
	return []error{e.kind}
}

// fail makes an error of kind with reason, wrapping cause when not nil.
func fail(kind error, cause error, reason string) error {
	return &kindError{kind: kind, reason: reason, cause: cause}
}
