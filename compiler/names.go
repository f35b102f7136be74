package compiler

import (
	"fmt"
	"regexp"
	"slices"
	"strings"
)

// pulsarName is what Pulsar's NamedEntity accepts in a tenant, namespace or
// topic name: letters, digits and _ = : . -
var pulsarName = regexp.MustCompile(`^[-=:.\w]+$`)

// checkPulsarName returns why name is not a valid tenant, namespace or
// local topic name, or "" when it is.
func checkPulsarName(name string) string {
	switch {
	case name == "":
		return "it is empty"
	case !pulsarName.MatchString(name):
		i := strings.IndexFunc(name, func(r rune) bool { return !pulsarName.MatchString(string(r)) })
		return fmt.Sprintf("%q is not allowed; Pulsar names take letters, digits and _ = : . -", name[i:i+len(string([]rune(name[i:])[0]))])
	}
	return ""
}

// splitFullName splits persistent://tenant/namespace/topic (or
// non-persistent://...) and says what is wrong with it, if anything.
func splitFullName(full string) (tenant, namespace, local, problem string) {
	rest, ok := strings.CutPrefix(full, "persistent://")
	if !ok {
		if rest, ok = strings.CutPrefix(full, "non-persistent://"); !ok {
			return "", "", "", "it does not start with persistent:// or non-persistent://"
		}
	}
	parts := strings.Split(rest, "/")
	if len(parts) != 3 {
		return "", "", "", "want DOMAIN://TENANT/NAMESPACE/TOPIC"
	}
	for i, what := range []string{"tenant", "namespace", "topic"} {
		if p := checkPulsarName(parts[i]); p != "" {
			return "", "", "", what + " " + p
		}
	}
	return parts[0], parts[1], parts[2], ""
}

// closest returns the candidate nearest to name by edit distance, if it is
// near enough to be a likely typo: at most a third of the name's length,
// and at least one edit.
func closest(name string, candidates []string) string {
	best, bestDist := "", max(1, len(name)/3)+1
	sorted := slices.Clone(candidates)
	slices.Sort(sorted) // ties go to the first name in order, whatever the caller's order
	for _, c := range sorted {
		if c == name {
			continue
		}
		if d := editDistance(name, c); d < bestDist {
			best, bestDist = c, d
		}
	}
	return best
}

// editDistance is the Levenshtein distance over bytes, with one row.
func editDistance(a, b string) int {
	row := make([]int, len(b)+1)
	for j := range row {
		row[j] = j
	}
	for i := 1; i <= len(a); i++ {
		prev := row[0]
		row[0] = i
		for j := 1; j <= len(b); j++ {
			cost := 1
			if a[i-1] == b[j-1] {
				cost = 0
			}
			cur := min(row[j]+1, row[j-1]+1, prev+cost)
			prev, row[j] = row[j], cur
		}
	}
	return row[len(b)]
}

func sortInts(s []int) []int {
	slices.Sort(s)
	return s
}

func sortByFirst(s [][]int) {
	slices.SortFunc(s, func(a, b []int) int { return a[0] - b[0] })
}
