package pulsarworker

import (
	"errors"
	"net"
	"net/url"
	"strings"
	"testing"

	"github.com/apache/pulsar-client-go/pulsaradmin/pkg/rest"

	"github.com/meshc/meshc/runtime"
)

func TestExplain(t *testing.T) {
	w := &Worker{url: "http://pulsar:8080"}
	refused := &url.Error{Op: "Get", URL: "http://pulsar:8080/admin/v3/functions", Err: &net.OpError{Op: "dial", Net: "tcp", Err: errors.New("connection refused")}}
	tests := []struct {
		err  error
		is   error
		says []string
	}{
		{rest.Error{Code: 503, Reason: "Function worker service is not done initializing"}, ErrWorkerOff, []string{"registering function split", "functionsWorkerEnabled", "not done initializing"}},
		{rest.Error{Code: 413, Reason: "Request Entity Too Large"}, ErrTooLarge, []string{"--package-url", "upload limit"}},
		{rest.Error{Code: 400, Reason: "Function name is not valid"}, ErrRefused, []string{"Function name is not valid", "the worker refuses it"}},
		{rest.Error{Code: 401, Reason: "Authentication required"}, ErrDenied, []string{"token", "role"}},
		{rest.Error{Code: 403, Reason: "Unauthorized"}, ErrDenied, []string{"role"}},
		{refused, ErrUnreachable, []string{"--admin-url", "connection refused", "http://pulsar:8080"}},
	}
	for _, tt := range tests {
		got := w.explain(tt.err, "registering function split")
		if !errors.Is(got, tt.is) {
			t.Errorf("explain(%v) = %v, want %v", tt.err, got, tt.is)
		}
		for _, s := range append(tt.says, "registering function split") {
			if !strings.Contains(got.Error(), s) {
				t.Errorf("explain(%v) = %q, does not say %q", tt.err, got, s)
			}
		}
	}
	if w.explain(nil, "x") != nil {
		t.Error("explain(nil) is not nil")
	}
}

func TestConnectRefusesBadURLs(t *testing.T) {
	for _, u := range []string{"pulsar://localhost:6650", "localhost:8080", "http://"} {
		if _, err := Connect(u, runtime.Connection{}); err == nil || !strings.Contains(err.Error(), "web service URL") {
			t.Errorf("Connect(%q) = %v, want an error naming the web service URL", u, err)
		}
	}
}
