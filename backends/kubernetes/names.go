package kubernetes

import (
	"crypto/sha256"
	"encoding/hex"
	"strings"

	"k8s.io/apimachinery/pkg/util/validation"

	"github.com/meshc/meshc/backends"
	"github.com/meshc/meshc/planner/plan"
)

// maxName bounds the names of workloads: a StatefulSet's pods carry the
// label controller-revision-hash=NAME-HASH, which must fit in 63
// characters.
const maxName = 52

// dnsName turns mesh names, which may hold upper case and '_', into a
// Kubernetes name: lower case, '-' for anything else. A name too long is
// cut and ends in a hash of the whole, so it stays unique and stable.
func dnsName(parts ...string) string {
	full := strings.Join(parts, "-")
	if len(full) <= maxName && isDNSName(full) {
		return full // most names are one already
	}
	b := make([]byte, 0, len(full))
	for _, r := range strings.ToLower(full) {
		if r >= 'a' && r <= 'z' || r >= '0' && r <= '9' || r == '-' {
			b = append(b, byte(r))
		} else {
			b = append(b, '-')
		}
	}
	s := strings.Trim(string(b), "-")
	if len(s) > maxName {
		sum := sha256.Sum256([]byte(full))
		s = strings.TrimRight(s[:maxName-9], "-") + "-" + hex.EncodeToString(sum[:4])
	}
	return s
}

// isDNSName says whether dnsName leaves s as it is: lower case letters,
// digits and '-', neither first nor last.
func isDNSName(s string) bool {
	if s == "" || s[0] == '-' || s[len(s)-1] == '-' {
		return false
	}
	for i := range len(s) {
		if c := s[i]; !(c >= 'a' && c <= 'z' || c >= '0' && c <= '9' || c == '-') {
			return false
		}
	}
	return true
}

// checkName reports a generated name the API server would refuse: Service
// names must also start with a letter. A name of dnsName's that does is
// taken without the library's regular expression, which every component's
// name went through (a few per cent of an emit).
func checkName(kind, what, name string) error {
	if name != "" && 'a' <= name[0] && name[0] <= 'z' && len(name) <= validation.DNS1035LabelMaxLength && isDNSName(name) {
		return nil
	}
	if errs := validation.IsDNS1035Label(name); len(errs) > 0 {
		return backends.Meshf(kind, what, "", "the Kubernetes name %q is invalid: %s; rename it to start with a letter", name, strings.Join(errs, "; "))
	}
	return nil
}

// names gives each component its resource name and refuses two components
// whose names differ only in case or in '_' against '-'.
func names(p *plan.Plan) (map[string]string, error) {
	out := make(map[string]string, len(p.Components))
	by := make(map[string]string, len(p.Components))
	for _, c := range p.Components {
		n := dnsName(p.Mesh.Name, c.Name)
		if err := checkName(string(c.Kind), c.Name, n); err != nil {
			return nil, err
		}
		if other, ok := by[n]; ok {
			return nil, backends.Meshf(string(c.Kind), c.Name, "", "%s and %s both become the Kubernetes name %q: rename one of them", other, c.Name, n)
		}
		by[n] = c.Name
		out[c.Name] = n
	}
	return out, nil
}
