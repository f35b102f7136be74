package main

import "testing"

// TestReleaseVersion: only a release version labels what emit writes; a
// build from a checkout, an edited one or a test binary says devel, so
// that pods do not roll with each rebuild.
func TestReleaseVersion(t *testing.T) {
	for _, tt := range []struct{ in, want string }{
		{"v1.2.0", "v1.2.0"},
		{"v1.2.0-rc.1", "v1.2.0-rc.1"},
		{"", develVersion},
		{"(devel)", develVersion},
		{"v1.2.0+dirty", develVersion},
		{"v0.0.0-20261206184512-0123456789ab", develVersion},
		{"v1.2.1-0.20261206184512-0123456789ab", develVersion},
		{"v1.2.1-0.20261206184512-0123456789ab+dirty", develVersion},
	} {
		if got := releaseVersion(tt.in); got != tt.want {
			t.Errorf("releaseVersion(%q) = %q, want %q", tt.in, got, tt.want)
		}
	}
}
