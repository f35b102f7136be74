package main

import (
	"bytes"
	"net"
	"strings"
	"testing"
)

func TestBrokerCommandErrors(t *testing.T) {
	used, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer used.Close()
	for _, tc := range []struct {
		name     string
		args     []string
		wantCode int
		wantErr  string
	}{
		{"bad fsync", []string{"broker", "--fsync", "sometimes"}, exitUsage, "--fsync"},
		{"bad log level", []string{"broker", "--log-level", "loud"}, exitUsage, "--log-level"},
		{"address in use", []string{"broker", "--listen", used.Addr().String(), "--admin-listen", ""}, exitFail, "address already in use"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var out, errOut bytes.Buffer
			code := Main(tc.args, strings.NewReader(""), &out, &errOut)
			if code != tc.wantCode || !strings.Contains(errOut.String(), tc.wantErr) {
				t.Fatalf("exit %d, stderr %q; want %d and %q", code, errOut.String(), tc.wantCode, tc.wantErr)
			}
		})
	}
}
