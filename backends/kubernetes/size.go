package kubernetes

import (
	"bytes"
	"cmp"
	"encoding/binary"
	"encoding/json"
	"fmt"
	"io"
	"math/bits"
	"slices"
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
// each as "FILE: KIND NAME is N MiB". Files made as they are written are
// written out to be measured; Measure measures them while they are written
// for good.
func Oversized(files []backends.File) ([]string, error) {
	files, report := Measure(files)
	for _, f := range files {
		if f.Write != nil && IsResource(f.Path) {
			if err := f.Write(io.Discard); err != nil {
				return nil, err
			}
		}
	}
	return report()
}

// Measure returns files whose objects are measured as they are written,
// and report, which once they have been written (files with Data need not
// be) lists the objects Oversized would.
func Measure(files []backends.File) (measured []backends.File, report func() ([]string, error)) {
	m := &measurer{limit: MaxObjectBytes}
	measured = slices.Clone(files)
	var unwritten []backends.File // files with Data, measured by report
	for i, f := range measured {
		switch {
		case !IsResource(f.Path):
		case f.Write == nil:
			unwritten = append(unwritten, f)
		default:
			write := f.Write
			measured[i].Write = func(w io.Writer) error {
				s := m.file(f.Path)
				err := write(io.MultiWriter(w, s))
				s.end()
				return err
			}
		}
	}
	return measured, func() ([]string, error) {
		for _, f := range unwritten {
			s := m.file(f.Path)
			s.Write(f.Data)
			s.end()
		}
		if m.err != nil {
			return nil, m.err
		}
		return m.found, nil
	}
}

// measurer gathers what the sizers of one Measure find.
type measurer struct {
	limit int // MaxObjectBytes; less in tests
	found []string
	err   error
	buf   []byte // lent to the sizer of the file being written
}

// file starts measuring the file at path.
func (m *measurer) file(path string) *sizer {
	s := &sizer{m: m, path: path, buf: m.buf[:0]}
	m.buf = nil
	return s
}

// sizer measures the objects of one YAML file as its bytes pass. A
// document's YAML is never shorter than its compact JSON by much, so only
// documents whose YAML comes near the limit are looked at, and only once
// the file's bytes have; one whose JSON is surely over the limit, by a
// count of its lines' text, is not converted (a FunctionMesh of thousands
// of functions took seconds to convert), and its bytes are let go of as
// they are counted. The others near the limit are converted exactly.
type sizer struct {
	m    *measurer
	path string
	// buf holds the current document (but for lines counted once it is
	// known to be over the limit) and what follows it.
	buf []byte
	// big: the file has reached half the limit in bytes, so its documents
	// are looked at.
	big bool
	// Offsets in buf: where the current document starts, the end of the
	// lines counted in least, and how far separators were looked for.
	docStart, counted, scanned int
	least                      int  // the least JSON size of the counted lines
	over                       bool // least is over the limit, and kind and name are known
	kind, name                 string
}

// Write takes the next bytes of the file.
func (s *sizer) Write(p []byte) (int, error) {
	if !s.big && len(s.buf)+len(p) < s.m.limit/2 {
		s.buf = append(s.buf, p...)
		return len(p), nil
	}
	s.big = true
	data := p // read in place when nothing is held
	if len(s.buf) > 0 {
		s.buf = append(s.buf, p...)
		data = s.buf
	}
	done := s.measure(data)
	s.buf = append(s.buf[:0], data[done:]...)
	return len(p), nil
}

// measure measures every document data, the bytes held and those written
// since, holds the end of, then counts the lines of the last one once it
// is large. It returns how many bytes of data are no longer needed.
func (s *sizer) measure(data []byte) (done int) {
	for {
		from := max(s.scanned-len(documentSeparator)+1, s.docStart, 0)
		i := indexSeparator(data[from:])
		if i < 0 {
			break
		}
		end := from + i
		// The line break that starts the separator may be counted
		// already, as the end of the document's last line.
		s.document(data[max(s.docStart, 0):end], data[min(s.counted, end):end])
		s.docStart = end + len(documentSeparator)
		s.counted, s.least, s.over = s.docStart, 0, false
	}
	s.scanned = len(data)
	done = s.docStart // the ended documents are let go of
	if s.over || len(data)-s.docStart >= s.m.limit/2 {
		done = s.count(data)
	}
	s.docStart, s.counted, s.scanned = s.docStart-done, s.counted-done, s.scanned-done
	return done
}

// count adds the current document's complete lines to least. Once the
// document is known to be over the limit, they are let go of but for the
// last line break, which may start a separator: count returns how many
// bytes of data are no longer needed.
func (s *sizer) count(data []byte) (done int) {
	keep := max(s.docStart, 0) // where what is held starts
	last := bytes.LastIndexByte(data, '\n')
	if last < s.counted {
		return keep
	}
	s.least += leastJSONSize(data[s.counted : last+1])
	s.counted = last + 1
	if !s.over && s.least > s.m.limit {
		// Complete lines only: a name cut short would be read short.
		s.kind, s.name, s.over = topNames(data[s.docStart : last+1])
	}
	if s.over {
		// The document's start is let go of too: docStart goes below
		// zero, which document tells by over.
		return last
	}
	return keep
}

// document measures a document that has ended: held is what buf holds of
// it, rest its lines not yet counted.
func (s *sizer) document(held, rest []byte) {
	if !s.over && len(held) < s.m.limit/2 {
		return
	}
	least := s.least + leastJSONSize(rest)
	kind, name, ok := s.kind, s.name, s.over
	if !ok && least > s.m.limit {
		kind, name, ok = topNames(held)
	}
	if ok && least > s.m.limit {
		s.m.found = append(s.m.found, fmt.Sprintf("%s: %s %s is at least %.1f MiB", s.path, kind, name, float64(least)/(1<<20)))
		return
	}
	big, err := convertedSize(held, s.m.limit)
	switch {
	case err != nil:
		s.m.err = cmp.Or(s.m.err, fmt.Errorf("reading %s: %w", s.path, err))
	case big != "":
		s.m.found = append(s.m.found, s.path+": "+big)
	}
}

// end measures the file's last document, and gives back the buffer
// unless it grew large.
func (s *sizer) end() {
	if s.big { // all but the last document is measured
		s.document(s.buf[max(s.docStart, 0):], s.buf[s.counted:])
	}
	if cap(s.buf) <= keptBuffer {
		s.m.buf = s.buf[:0]
	}
	s.buf = nil
}

// keptBuffer is the most a measurer keeps of a sizer's buffer for the next.
const keptBuffer = 1 << 20

// documentSeparator ends a document of a YAML stream as meshc writes it.
const documentSeparator = "\n---\n"

// indexSeparator is the index of the first documentSeparator in data, or
// -1. It looks eight bytes at a time for line breaks and compares there:
// a file of thousands of documents has a line break every few dozen
// bytes, which made bytes.Index compare at every byte.
func indexSeparator(data []byte) int {
	i := 0
	for ; i+8 <= len(data); i += 8 {
		// Bytes after a line break may be marked too: each is checked.
		for m := zeroByte(binary.LittleEndian.Uint64(data[i:]) ^ '\n'*lows); m != 0; m &= m - 1 {
			// Most lines start with a space: the byte after the break
			// rules them out before the whole separator is compared.
			k := i + bits.TrailingZeros64(m)/8
			if k+1 < len(data) && data[k+1] == '-' && bytes.HasPrefix(data[k:], []byte(documentSeparator)) {
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
// than limit, says which object it is and its size.
func convertedSize(doc []byte, limit int) (string, error) {
	j, err := sigsyaml.YAMLToJSON(doc)
	if err != nil || len(j) <= limit {
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
