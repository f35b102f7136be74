package kubernetes

import (
	"bytes"
	"errors"
	"fmt"
	"math/rand/v2"
	"slices"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	sigsyaml "sigs.k8s.io/yaml"

	"github.com/meshc/meshc/backends"
	"github.com/meshc/meshc/internal/meshgen"
	"github.com/meshc/meshc/internal/plantest"
)

// TestOversized: the FunctionMesh of 2,000 functions is one object of
// about 3 MiB as JSON, more than etcd stores by default; plain manifests
// hold no object near it. Deploy refuses the first before applying
// anything.
func TestOversized(t *testing.T) {
	p := plantest.Generated(t, meshgen.Mixed, 2000)
	for _, tc := range []struct {
		flavour string
		want    string
	}{
		{Plain, ""},
		{FunctionMesh, "functionmesh.yaml: FunctionMesh "},
	} {
		files, err := Emit(p, Options{Flavour: tc.flavour, Image: "meshc/meshrt:1"})
		if err != nil {
			t.Fatal(err)
		}
		big, err := Oversized(files)
		if err != nil {
			t.Fatal(err)
		}
		if tc.want == "" {
			if len(big) > 0 {
				t.Errorf("%s: Oversized = %q, want none", tc.flavour, big)
			}
			continue
		}
		if len(big) != 1 || !strings.HasPrefix(big[0], tc.want) {
			t.Errorf("%s: Oversized = %q, want one starting %q", tc.flavour, big, tc.want)
		}
		if err := (&Cluster{}).Deploy(t.Context(), nil, "big", files, DeployOptions{}); !errors.Is(err, errTooLarge) {
			t.Errorf("%s: Deploy = %v, want %v", tc.flavour, err, errTooLarge)
		}
	}
	if big, err := Oversized([]backends.File{{Path: "x.yaml", Data: []byte(strings.Repeat("a", MaxObjectBytes))}}); err == nil {
		t.Errorf("Oversized of a large file that is no YAML object = %q, want an error", big)
	}
}

// TestLeastJSONSize: the bound by lines is never above a document's JSON,
// for every object of both flavours, and near enough to it to spare the
// conversion of a document far over the limit.
func TestLeastJSONSize(t *testing.T) {
	p := plantest.Generated(t, meshgen.Mixed, 300)
	for _, flavour := range []string{Plain, FunctionMesh} {
		files, err := emitWhole(p, Options{Flavour: flavour, Image: "meshc/meshrt:1", Namespace: "ns", CreateNamespace: true})
		if err != nil {
			t.Fatal(err)
		}
		for _, f := range files {
			if !IsResource(f.Path) {
				continue
			}
			for _, doc := range bytes.Split(f.Data, []byte(documentSeparator)) {
				j, err := sigsyaml.YAMLToJSON(doc)
				if err != nil {
					t.Fatal(err)
				}
				least := leastJSONSize(doc)
				if least > len(j) || least < len(j)/3 {
					t.Errorf("%s: leastJSONSize = %d, JSON is %d bytes: want at most it and at least a third of it", f.Path, least, len(j))
				}
			}
		}
	}
	for _, doc := range []string{
		"a: \"\\U0001F600\"\n", "a: 'it''s'\n", "- - x\n", "a: 1 # note\n", "# only a comment\n", "\"k\": v\n",
	} {
		j, err := sigsyaml.YAMLToJSON([]byte(doc))
		if err != nil {
			t.Fatal(err)
		}
		if least := leastJSONSize([]byte(doc)); least > len(j) {
			t.Errorf("leastJSONSize(%q) = %d, more than its JSON %s", doc, least, j)
		}
	}
}

// TestLeastJSONSizeByLines: leastJSONSize counts as the plain reading of
// its rules, a line at a time, counts.
func TestLeastJSONSizeByLines(t *testing.T) {
	docs := append([]string{"", "\n", "a", "  - - x # c\n", "'''' '' ' #''\n", `\\ "\"" #\` + "\n", "- \n-\n- -\n", "#\n  #x\nk: v", "a:\r\n b\n\n",
		"a''", ", 'x\n", `\'`, "#", "x#y''\n", "- - - ", "  -  - x", "abcdefgh'ijklmnop''qrstuvw\\xyz#'\n''"}, emittedTexts(t)...)
	for _, doc := range docs {
		if got, want := leastJSONSize([]byte(doc)), leastJSONSizeByLines([]byte(doc)); got != want {
			t.Errorf("leastJSONSize(%.40q...) = %d, want %d", doc, got, want)
		}
	}
}

// leastJSONSizeByLines is leastJSONSize as its rules read.
func leastJSONSizeByLines(doc []byte) int {
	n := 0
	for line := range bytes.Lines(doc) {
		line = bytes.TrimRight(bytes.TrimLeft(line, " "), "\n")
		for bytes.HasPrefix(line, []byte("- ")) {
			line = bytes.TrimLeft(line[2:], " ")
		}
		if i := bytes.IndexByte(line, '#'); i >= 0 {
			line = line[:i]
		}
		if k := len(line) - 1 - maxEscapeSaving*bytes.Count(line, []byte(`\`)) - bytes.Count(line, []byte("''")); k > 0 {
			n += k
		}
	}
	return n
}

// TestSizer: a file measured as it is written, in pieces of any size,
// gives what measuring each of its documents whole gives.
func TestSizer(t *testing.T) {
	// A document of about size bytes of YAML, its data values of length
	// value: the shorter the values, the larger its JSON than its count.
	docOf := func(name string, size, value int) string {
		var b strings.Builder
		b.WriteString("apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: " + name + "\ndata:\n")
		for k := 0; b.Len() < size; k++ {
			fmt.Fprintf(&b, "  k%d: %s\n", k, strings.Repeat("v", value))
		}
		return b.String()
	}
	doc := func(name string, size int) string { return docOf(name, size, 60) }
	files := append([]string{
		"", "---", "\n---\n", "a\n---\n", "\n---\n---\n", "a\n---\nb\n---\n\n---\nc", "x\n--\n---\n",
		strings.Repeat(doc("small", 1000)+"---\n", 2000), // small documents, a large file
		doc("under", MaxObjectBytes*3/4) + "---\n" + doc("near", MaxObjectBytes+MaxObjectBytes/8) + "---\n" + doc("over", 3*MaxObjectBytes),
		doc("last", 2*MaxObjectBytes),
		// Counted under the limit, so converted: one over it, one not.
		docOf("converted-over", MaxObjectBytes*11/10, 1) + "---\n" + docOf("converted-under", MaxObjectBytes*7/10, 1),
		strings.Repeat("a", MaxObjectBytes), // no YAML object
	}, emittedTexts(t)...)
	// Documents over the limit, counted without converting, are cut also
	// at and around each separator.
	overs := doc("over-a", 2*MaxObjectBytes) + "---\n" + doc("over-b", 2*MaxObjectBytes) + "---\n" + doc("small", 100)
	files = append(files, overs)
	for _, f := range files {
		want, wantErr := oversizedWhole("f.yaml", []byte(f), MaxObjectBytes)
		cuts := [][]int{everyBytes(f, 4093)} // large files: converting their documents is slow
		if len(f) < 1<<20 || f == overs {
			for k := range len(documentSeparator) + 1 {
				cuts = append(cuts, aroundSeparators(f, k))
			}
		}
		if len(f) < 1<<20 {
			cuts = append(cuts, everyBytes(f, 1), everyBytes(f, 7), nil)
		}
		for _, cut := range cuts {
			m := &measurer{limit: MaxObjectBytes}
			s := m.file("f.yaml")
			last := 0
			for _, at := range append(cut, len(f)) {
				s.Write([]byte(f[last:at]))
				last = at
			}
			s.end()
			if m.err != nil {
				m.found = nil
			}
			if diff := cmp.Diff(want, m.found); diff != "" || (m.err != nil) != (wantErr != nil) {
				t.Errorf("%.40q... cut at %.10v...: error %v, want %v; found (-whole +measured):\n%s", f, cut, m.err, wantErr, diff)
			}
		}
	}
}

// everyBytes cuts f every n bytes.
func everyBytes(f string, n int) []int {
	var cut []int
	for at := n; at < len(f); at += n {
		cut = append(cut, at)
	}
	return cut
}

// aroundSeparators cuts f k bytes into each document separator, and
// every 4093 bytes.
func aroundSeparators(f string, k int) []int {
	cut := everyBytes(f, 4093)
	for i := 0; ; {
		j := strings.Index(f[i:], documentSeparator)
		if j < 0 {
			break
		}
		cut = append(cut, i+j+k)
		i += j + 1
	}
	slices.Sort(cut)
	return slices.Compact(cut)
}

// oversizedWhole measures each document of data whole, as the rules say,
// against limit.
func oversizedWhole(path string, data []byte, limit int) ([]string, error) {
	var found []string
	if len(data) < limit/2 {
		return nil, nil
	}
	for _, doc := range bytes.Split(data, []byte(documentSeparator)) {
		if len(doc) < limit/2 {
			continue
		}
		if least := leastJSONSize(doc); least > limit {
			if kind, name, ok := topNames(doc); ok {
				found = append(found, fmt.Sprintf("%s: %s %s is at least %.1f MiB", path, kind, name, float64(least)/(1<<20)))
				continue
			}
		}
		big, err := convertedSize(doc, limit)
		if err != nil {
			return nil, err
		}
		if big != "" {
			found = append(found, path+": "+big)
		}
	}
	return found, nil
}

// FuzzSizer: a file measured as it is written, cut anywhere, against a
// small limit, finds what measuring its documents whole finds.
func FuzzSizer(f *testing.F) {
	f.Add([]byte("kind: A\nmetadata:\n  name: a\nx: "+strings.Repeat("y", 80)+"\n---\nkind: B\n"), uint64(7), 64)
	f.Add([]byte("a: 1\n---\n\n---\nb: [1, 2]\n"), uint64(3), 8)
	f.Add([]byte("kind: C\nmetadata:\n  name: c\nl:\n- 'it''s'\n- \"\\u00e9\"\n# note\n"), uint64(11), 16)
	f.Fuzz(func(t *testing.T, data []byte, seed uint64, limit int) {
		limit = 2 + abs(limit)%512
		want, wantErr := oversizedWhole("f.yaml", data, limit)
		m := &measurer{limit: limit}
		s := m.file("f.yaml")
		rng := rand.New(rand.NewPCG(seed, seed>>32))
		for rest := data; len(rest) > 0; {
			n := min(rng.IntN(2*limit)+1, len(rest))
			s.Write(rest[:n])
			rest = rest[n:]
		}
		s.end()
		if m.err != nil {
			m.found = nil
		}
		if diff := cmp.Diff(want, m.found); diff != "" || (m.err != nil) != (wantErr != nil) {
			t.Errorf("limit %d: error %v, want %v; found (-whole +measured):\n%s", limit, m.err, wantErr, diff)
		}
	})
}

func abs(n int) int {
	if n < 0 {
		return -n
	}
	return n
}

// emittedTexts are the files of both flavours of a generated mesh of 50
// functions.
func emittedTexts(t *testing.T) []string {
	t.Helper()
	p := plantest.Generated(t, meshgen.Mixed, 50)
	var texts []string
	for _, flavour := range []string{Plain, FunctionMesh} {
		files, err := emitWhole(p, Options{Flavour: flavour, Image: "meshc/meshrt:1"})
		if err != nil {
			t.Fatal(err)
		}
		for _, f := range files {
			texts = append(texts, string(f.Data))
		}
	}
	return texts
}
