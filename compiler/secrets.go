package compiler

import (
	"fmt"
	"strings"

	"github.com/meshc/meshc/lang"
)

// Secret paths and keys are written once for every backend, so they keep
// to what all of them hold: on Kubernetes the path names the Secret PATH
// with '/' made '.' and '_' made '-', a DNS subdomain; on Nomad the
// Variable at PATH, whose paths are at most 128 characters (a mesh's own,
// nomad/jobs/MESH, may have '_'); Kubernetes Secret keys are letters,
// digits, '-', '_' and '.'.
const (
	maxSecretPath = 128
	maxSecretKey  = 253
)

// portableSecret reports a secret("PATH", "KEY") some backend cannot hold.
func (c *compiler) portableSecret(at lang.Span, path, key string) bool {
	ok := true
	if seg, good := secretPath(path); !good {
		c.errorf(at, "secret path %q: %s", path, seg).WithHint(
			`write lowercase letters, digits, '-' and '_', in segments joined by '/', as "shop/my_api": every backend holds such a path (Kubernetes as the Secret "shop.my-api", Nomad as the Variable "shop/my_api")`)
		ok = false
	}
	if !secretKey(key) {
		c.errorf(at, "secret key %q: a key is at most %d letters, digits, '-', '_' and '.' (not . or ..)", key, maxSecretKey).WithHint(
			"Kubernetes Secrets hold no other keys; rename the key in the secret store")
		ok = false
	}
	return ok
}

// secretPath says what is wrong with a path, if anything.
func secretPath(path string) (string, bool) {
	if len(path) > maxSecretPath {
		return "longer than 128 characters", false
	}
	for _, seg := range strings.Split(path, "/") {
		if !pathSegment(seg) {
			if seg == "" {
				return "an empty segment (a '/' at an end, or two in a row)", false
			}
			return fmt.Sprintf("the segment %q is not lowercase letters, digits, '-' and '_' (starting and ending with a letter or digit)", seg), false
		}
	}
	return "", true
}

// pathSegment tells whether s is a DNS label once '_' is made '-':
// lowercase letters, digits, '-' and '_', starting and ending with a
// letter or digit, at most 63 long.
func pathSegment(s string) bool {
	if s == "" || len(s) > 63 || !alnum(s[0]) || !alnum(s[len(s)-1]) {
		return false
	}
	for _, r := range s {
		if !(r >= 'a' && r <= 'z' || r >= '0' && r <= '9' || r == '-' || r == '_') {
			return false
		}
	}
	return true
}

func alnum(b byte) bool { return b >= 'a' && b <= 'z' || b >= '0' && b <= '9' }

func secretKey(key string) bool {
	if key == "" || key == "." || key == ".." || len(key) > maxSecretKey {
		return false
	}
	for _, r := range key {
		if !(r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || r == '-' || r == '_' || r == '.') {
			return false
		}
	}
	return true
}
