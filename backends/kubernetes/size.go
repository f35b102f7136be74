package kubernetes

import (
	"bytes"
	"encoding/binary"
	"encoding/json"
	"fmt"
	"math/bits"
	"strconv"
	"strings"

	sigsyaml "sigs.k8s.io/yaml"

	"github.com/meshc/meshc/backends"
)

// MaxObjectBytes is the largest object, as JSON, that a cluster stores with
// etcd's default --max-request-bytes (1.5 MiB): a larger one is refused
// when it is applied, after the objects applied before it.
const MaxObjectBytes = 3 << 19

// Oversized lists the objects of files larger than MaxObjectBytes as JSON,
// each as "FILE: KIND NAME is N MiB". A document's YAML is never shorter
// than its compact JSON by much, so only documents whose YAML comes near
// the limit are measured; one whose JSON is surely over it, by a count of
// its lines' text, is not converted (a FunctionMesh of thousands of
// functions took seconds to convert).
func Oversized(files []backends.File) ([]string, error) {
	var out []string
	for _, f := range files {
		if !IsResource(f.Path) || len(f.Data) < MaxObjectBytes/2 {
			continue
		}
		for rest, more := f.Data, true; more; {
			var doc []byte
			if doc, rest, more = nextDocument(rest); len(doc) < MaxObjectBytes/2 {
				continue
			}
			if least := leastJSONSize(doc); least > MaxObjectBytes {
				if kind, name, ok := topNames(doc); ok {
					out = append(out, fmt.Sprintf("%s: %s %s is at least %.1f MiB", f.Path, kind, name, float64(least)/(1<<20)))
					continue
				}
			}
			big, err := convertedSize(doc)
			if err != nil {
				return nil, fmt.Errorf("reading %s: %w", f.Path, err)
			}
			if big != "" {
				out = append(out, f.Path+": "+big)
			}
		}
	}
	return out, nil
}

// documentSeparator ends a document of a YAML stream as meshc writes it.
const documentSeparator = "\n---\n"

// nextDocument splits data at its first documentSeparator, as bytes.Split
// splits; more is false when there is none.
func nextDocument(data []byte) (doc, rest []byte, more bool) {
	i := indexSeparator(data)
	if i < 0 {
		return data, nil, false
	}
	return data[:i], data[i+len(documentSeparator):], true
}

// indexSeparator is the index of the first documentSeparator in data, or
// -1. It looks eight bytes at a time for line breaks and compares there:
// a file of thousands of documents has a line break every few dozen
// bytes, which made bytes.Index compare at every byte.
func indexSeparator(data []byte) int {
	i := 0
	for ; i+8 <= len(data); i += 8 {
		// Bytes after a line break may be marked too: each is checked.
		for m := zeroByte(binary.LittleEndian.Uint64(data[i:]) ^ '\n'*lows); m != 0; m &= m - 1 {
			if k := i + bits.TrailingZeros64(m)/8; bytes.HasPrefix(data[k:], []byte(documentSeparator)) {
				return k
			}
		}
	}
	if k := bytes.Index(data[i:], []byte(documentSeparator)); k >= 0 {
		return i + k
	}
	return -1
}

// convertedSize converts a YAML document to JSON and, when it is larger
// than MaxObjectBytes, says which object it is and its size.
func convertedSize(doc []byte) (string, error) {
	j, err := sigsyaml.YAMLToJSON(doc)
	if err != nil || len(j) <= MaxObjectBytes {
		return "", err
	}
	var meta struct {
		Kind     string `json:"kind"`
		Metadata struct {
			Name string `json:"name"`
		} `json:"metadata"`
	}
	if err := json.Unmarshal(j, &meta); err != nil {
		return "", err
	}
	return fmt.Sprintf("%s %s is %.1f MiB", meta.Kind, meta.Metadata.Name, float64(len(j))/(1<<20)), nil
}

// leastJSONSize is a size the compact JSON of a block-style YAML document
// cannot be under: each line's text without its indentation, its list
// markers and a byte for the space after a key, less what escapes could
// spare (a YAML escape such as \U0001F600 may stand for fewer bytes of
// JSON, a quote doubled in single quotes for one). Comments count nothing.
//
// It reads eight bytes at a time up to the next byte that counts: the
// documents it reads are tens of megabytes, and a few calls a line took
// longer than writing them.
func leastJSONSize(doc []byte) int {
	n := 0
	for i := 0; i < len(doc); {
		i = lineText(doc, i)
		k := -i - 1 // the line's text so far, less a byte
		for {
			j := i + indexLineByte(doc[i:])
			if j == len(doc) || doc[j] == '\n' || doc[j] == '#' {
				n += max(k+j, 0)
				i = j + 1
				if j < len(doc) && doc[j] == '#' {
					i = len(doc)
					if e := bytes.IndexByte(doc[j:], '\n'); e >= 0 {
						i = j + e + 1
					}
				}
				break
			}
			i = j + 1
			if doc[j] == '\\' {
				k -= maxEscapeSaving
			} else if i < len(doc) && doc[i] == '\'' { // two single quotes
				k--
				i++
			}
		}
	}
	return n
}

// lineText is where the text of the line at i starts: after its
// indentation and list markers.
func lineText(doc []byte, i int) int {
	for {
		for i < len(doc) && doc[i] == ' ' {
			i++
		}
		if i+1 >= len(doc) || doc[i] != '-' || doc[i+1] != ' ' {
			return i
		}
		i += 2
	}
}

// indexLineByte is the index in b of the first line break, '#',
// backslash or single quote, or len(b).
func indexLineByte(b []byte) int {
	i := 0
	for ; i+8 <= len(b); i += 8 {
		x := binary.LittleEndian.Uint64(b[i:])
		m := zeroByte(x^'\n'*lows) | zeroByte(x^'#'*lows) | zeroByte(x^'\\'*lows) | zeroByte(x^'\''*lows)
		if m != 0 {
			return i + bits.TrailingZeros64(m)/8
		}
	}
	for ; i < len(b); i++ {
		switch b[i] {
		case '\n', '#', '\\', '\'':
			return i
		}
	}
	return i
}

// zeroByte has the high bit set of the first zero byte of x, and maybe of
// later ones.
func zeroByte(x uint64) uint64 { return (x - lows) &^ x & highs }

// maxEscapeSaving is the most bytes a YAML escape is longer than its JSON:
// \U00000041 is ten bytes, A one.
const maxEscapeSaving = 9

// topNames reads the kind and metadata.name of a document as meshc writes
// it: kind at the left margin, name indented two spaces under metadata.
func topNames(doc []byte) (kind, name string, ok bool) {
	inMeta := false
	for line := range bytes.Lines(doc) {
		line = bytes.TrimRight(line, "\n")
		switch {
		case bytes.HasPrefix(line, []byte("kind: ")):
			kind = scalar(line[len("kind: "):])
		case string(line) == "metadata:":
			inMeta = true
		case inMeta && bytes.HasPrefix(line, []byte("  name: ")):
			name = scalar(line[len("  name: "):])
		case len(line) > 0 && line[0] != ' ':
			inMeta = false
		}
		if kind != "" && name != "" {
			return kind, name, true
		}
	}
	return "", "", false
}

// scalar is a YAML scalar's text: a double-quoted one unquoted.
func scalar(b []byte) string {
	if s, err := strconv.Unquote(string(b)); err == nil {
		return s
	}
	return string(b)
}

// refuseOversized fails a deploy, before anything is applied, when an
// object is larger than the cluster would store.
func refuseOversized(files []backends.File) error {
	big, err := Oversized(files)
	if err != nil || len(big) == 0 {
		return err
	}
	return fmt.Errorf("%w: %s; nothing was applied: deploy a mesh this large with --flavour plain (objects of their own for each function), or split it into several meshes",
		errTooLarge, strings.Join(big, "; "))
}

// errTooLarge is an object larger than MaxObjectBytes.
var errTooLarge = fmt.Errorf("objects larger than the %.1f MiB a cluster stores with etcd's defaults", float64(MaxObjectBytes)/(1<<20))
