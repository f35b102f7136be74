package backends

import (
	"bufio"
	"bytes"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strings"
)

// File is one generated file: a path relative to the output folder and its
// bytes. Backends return files sorted by path so output is deterministic.
type File struct {
	Path string
	Data []byte
	// Write, when set, writes the file's bytes in place of Data: a file of
	// tens of megabytes is made as it is written out, never held whole.
	Write func(io.Writer) error
}

// Bytes returns the file's bytes, made by Write if it has one.
func (f File) Bytes() ([]byte, error) {
	if f.Write == nil {
		return f.Data, nil
	}
	var b bytes.Buffer
	err := f.Write(&b)
	return b.Bytes(), err
}

// Write writes files under dir, creating folders as needed. Paths must be
// relative and stay inside dir.
func Write(dir string, files []File) error {
	var buf *bufio.Writer // one for every file made as it is written
	for _, f := range files {
		if !filepath.IsLocal(f.Path) {
			return fmt.Errorf("generated path %q leaves the output folder", f.Path)
		}
		p := filepath.Join(dir, filepath.FromSlash(f.Path))
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			return err
		}
		if f.Write != nil && buf == nil {
			buf = bufio.NewWriterSize(nil, writeBuffer)
		}
		if err := f.writeFile(p, buf); err != nil {
			return err
		}
	}
	return nil
}

// writeFile writes the file at path, made through w when it has Write; a
// file that fails half written is removed.
func (f File) writeFile(path string, w *bufio.Writer) error {
	if f.Write == nil {
		return os.WriteFile(path, f.Data, 0o644)
	}
	out, err := os.Create(path)
	if err != nil {
		return err
	}
	w.Reset(out)
	err = f.Write(w)
	if err == nil {
		err = w.Flush()
	}
	if cerr := out.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		os.Remove(path)
		return fmt.Errorf("writing %s: %w", path, err)
	}
	return nil
}

// writeBuffer is what a streamed file is written to disk in.
const writeBuffer = 256 << 10

// Sort orders files by path.
func Sort(files []File) {
	slices.SortFunc(files, func(a, b File) int { return strings.Compare(a.Path, b.Path) })
}
