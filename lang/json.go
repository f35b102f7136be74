package lang

import (
	"bytes"
	"encoding/json"
	"fmt"
)

// MarshalJSON writes the file with each declaration tagged by its keyword,
// {"kind": "topic", ...}, so tools can tell declarations apart.
func (f *File) MarshalJSON() ([]byte, error) {
	decls := make([]json.RawMessage, len(f.Decls))
	for i, d := range f.Decls {
		raw, err := json.Marshal(d)
		if err != nil {
			return nil, err
		}
		decls[i] = append(fmt.Appendf(nil, `{"kind":%q,`, d.Keyword()), bytes.TrimPrefix(raw, []byte("{"))...)
	}
	type file File // no MarshalJSON: plain encoding of the other fields
	return json.Marshal(struct {
		*file
		Decls []json.RawMessage `json:"decls"`
	}{(*file)(f), decls})
}
