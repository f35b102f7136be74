package nomad

import (
	"bytes"
	"cmp"
	"encoding/json"
	"fmt"
	"reflect"
	"slices"
	"strings"
	"time"

	"github.com/hashicorp/hcl/v2/hclsyntax"
	"github.com/hashicorp/hcl/v2/hclwrite"
	"github.com/hashicorp/nomad/api"
	"github.com/zclconf/go-cty/cty"
)

// The api types say nothing of which fields were set, and their JSON
// spells out every nil and zero. Both encoders below walk a job by
// reflection and write only the fields that are set: non-nil pointers
// (a pointer to zero, like count = 0, is a choice) and non-zero values.

type field struct {
	sf reflect.StructField
	v  reflect.Value
}

// setFields lists the set fields of struct v, in declaration order.
func setFields(v reflect.Value) []field {
	var out []field
	for i := range v.NumField() {
		sf, fv := v.Type().Field(i), v.Field(i)
		if !sf.IsExported() {
			continue
		}
		switch fv.Kind() {
		case reflect.Pointer, reflect.Interface:
			if fv.IsNil() {
				continue
			}
		case reflect.Map, reflect.Slice:
			if fv.Len() == 0 {
				continue
			}
		default:
			if fv.IsZero() {
				continue
			}
		}
		out = append(out, field{sf, fv})
	}
	return out
}

var durationType = reflect.TypeFor[time.Duration]()

// JSON encodes a job as `nomad job run -json` and the HTTP API take it:
// {"Job": {...}}, indented, with sorted keys.
func JSON(job *api.Job) ([]byte, error) {
	var b bytes.Buffer
	enc := json.NewEncoder(&b)
	enc.SetEscapeHTML(false)
	enc.SetIndent("", "  ")
	if err := enc.Encode(map[string]any{"Job": jsonValue(reflect.ValueOf(job))}); err != nil {
		return nil, fmt.Errorf("encoding job %s as JSON: %w", deref(job.ID), err)
	}
	return b.Bytes(), nil
}

func jsonValue(v reflect.Value) any {
	if v.Type() == durationType {
		return v.Int() // the API's durations are nanoseconds
	}
	switch v.Kind() {
	case reflect.Pointer, reflect.Interface:
		return jsonValue(v.Elem())
	case reflect.Struct:
		m := map[string]any{}
		for _, f := range setFields(v) {
			name, _, _ := strings.Cut(f.sf.Tag.Get("json"), ",")
			if name == "-" {
				continue
			}
			m[cmp.Or(name, f.sf.Name)] = jsonValue(f.v)
		}
		return m
	case reflect.Slice:
		out := make([]any, v.Len())
		for i := range out {
			out[i] = jsonValue(v.Index(i))
		}
		return out
	case reflect.Map:
		m := map[string]any{}
		for it := v.MapRange(); it.Next(); {
			m[fmt.Sprint(it.Key().Interface())] = jsonValue(it.Value())
		}
		return m
	}
	return v.Interface()
}

// HCL writes a job as a Nomad job specification. Field names and block
// structure come from the api types' hcl tags, which Nomad's own parser
// reads, so the file parses back into the same job.
func HCL(job *api.Job) ([]byte, error) {
	f := hclwrite.NewEmptyFile()
	blk := f.Body().AppendNewBlock("job", []string{deref(job.ID)})
	if err := writeBody(blk.Body(), reflect.ValueOf(job).Elem(), "job"); err != nil {
		return nil, fmt.Errorf("writing job %s as HCL: %w", deref(job.ID), err)
	}
	return hclwrite.Format(f.Bytes()), nil
}

// writeBody writes the set fields of struct v: attributes, then blocks,
// then labelled blocks (groups, tasks), each in declaration order, so a
// job or group reads its own settings before its parts.
func writeBody(body *hclwrite.Body, v reflect.Value, where string) error {
	var blocks []field
	for _, f := range setFields(v) {
		tag, ok := f.sf.Tag.Lookup("hcl")
		name, kind, _ := strings.Cut(tag, ",")
		switch {
		case !ok:
			return fmt.Errorf("%s.%s is set but has no HCL form", where, f.sf.Name)
		case kind == "label" || (where == "job" && name == "id"):
			continue // written as the block's label
		case kind == "block":
			blocks = append(blocks, f)
			continue
		}
		if s, ok := multiline(f.v); ok {
			body.SetAttributeRaw(name, heredoc(s))
			continue
		}
		val, err := ctyValue(f.v)
		if err != nil {
			return fmt.Errorf("%s.%s: %w", where, name, err)
		}
		body.SetAttributeValue(name, val)
	}
	slices.SortStableFunc(blocks, func(a, b field) int { return cmp.Compare(labelled(a.sf.Type), labelled(b.sf.Type)) })
	for _, f := range blocks {
		name, _, _ := strings.Cut(f.sf.Tag.Get("hcl"), ",")
		if err := writeBlocks(body, name, f.v, where+"."+name); err != nil {
			return err
		}
	}
	return nil
}

// writeBlocks writes a block field: a struct, a list of labelled structs,
// or a map, which becomes one block of attributes (meta, env, config).
func writeBlocks(body *hclwrite.Body, name string, v reflect.Value, where string) error {
	switch v.Kind() {
	case reflect.Pointer:
		return writeBlocks(body, name, v.Elem(), where)
	case reflect.Slice:
		for i := range v.Len() {
			if err := writeBlocks(body, name, v.Index(i), where); err != nil {
				return err
			}
		}
		return nil
	case reflect.Map:
		if v.Type().Key().Kind() != reflect.String || v.Type().Elem().Kind() == reflect.Pointer {
			return fmt.Errorf("%s: a map of %s has no HCL form here", where, v.Type().Elem())
		}
		inner := body.AppendNewBlock(name, nil).Body()
		keys := slices.Sorted(func(yield func(string) bool) {
			for _, k := range v.MapKeys() {
				if !yield(k.String()) {
					return
				}
			}
		})
		for _, k := range keys {
			if !hclsyntax.ValidIdentifier(k) {
				return fmt.Errorf("%s: key %q is not an HCL identifier", where, k)
			}
			val, err := ctyValue(v.MapIndex(reflect.ValueOf(k)))
			if err != nil {
				return fmt.Errorf("%s.%s: %w", where, k, err)
			}
			inner.SetAttributeValue(k, val)
		}
		return nil
	case reflect.Struct:
		blk := body.AppendNewBlock(name, labels(v))
		return writeBody(blk.Body(), v, where)
	}
	return fmt.Errorf("%s: a %s has no HCL block form", where, v.Type())
}

// labelled tells 1 for a list of structs with label fields, else 0.
func labelled(t reflect.Type) int {
	if t.Kind() != reflect.Slice {
		return 0
	}
	if t = t.Elem(); t.Kind() == reflect.Pointer {
		t = t.Elem()
	}
	if t.Kind() != reflect.Struct {
		return 0
	}
	for i := range t.NumField() {
		if _, kind, _ := strings.Cut(t.Field(i).Tag.Get("hcl"), ","); kind == "label" {
			return 1
		}
	}
	return 0
}

// labels are the values of a struct's label fields.
func labels(v reflect.Value) []string {
	var out []string
	for i := range v.NumField() {
		if _, kind, _ := strings.Cut(v.Type().Field(i).Tag.Get("hcl"), ","); kind == "label" {
			out = append(out, fmt.Sprint(reflect.Indirect(v.Field(i)).Interface()))
		}
	}
	return out
}

// multiline tells whether v is text of whole lines, which reads best as a
// heredoc: templates.
func multiline(v reflect.Value) (string, bool) {
	v = reflect.Indirect(v)
	if v.Kind() != reflect.String {
		return "", false
	}
	s := v.String()
	return s, strings.HasSuffix(s, "\n") && !slices.Contains(strings.Split(s, "\n"), "EOT")
}

// heredoc writes s as an HCL heredoc, escaping HCL's own template
// sequences so the text arrives as it is.
func heredoc(s string) hclwrite.Tokens {
	s = strings.NewReplacer("${", "$${", "%{", "%%{").Replace(s)
	return hclwrite.Tokens{
		{Type: hclsyntax.TokenOHeredoc, Bytes: []byte("<<EOT\n")},
		{Type: hclsyntax.TokenStringLit, Bytes: []byte(s)},
		{Type: hclsyntax.TokenCHeredoc, Bytes: []byte("EOT")},
	}
}

// ctyValue converts an attribute's value; durations become Go duration
// text ("30s"), as Nomad's job specifications write them.
func ctyValue(v reflect.Value) (cty.Value, error) {
	if v.Type() == durationType {
		return cty.StringVal(durationText(time.Duration(v.Int()))), nil
	}
	switch v.Kind() {
	case reflect.Pointer, reflect.Interface:
		return ctyValue(v.Elem())
	case reflect.String:
		return cty.StringVal(v.String()), nil
	case reflect.Bool:
		return cty.BoolVal(v.Bool()), nil
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64:
		return cty.NumberIntVal(v.Int()), nil
	case reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64:
		return cty.NumberUIntVal(v.Uint()), nil
	case reflect.Float32, reflect.Float64:
		return cty.NumberFloatVal(v.Float()), nil
	case reflect.Slice:
		if v.Len() == 0 {
			return cty.ListValEmpty(cty.String), nil
		}
		vals := make([]cty.Value, v.Len())
		for i := range vals {
			var err error
			if vals[i], err = ctyValue(v.Index(i)); err != nil {
				return cty.NilVal, err
			}
		}
		return cty.TupleVal(vals), nil
	}
	return cty.NilVal, fmt.Errorf("a %s has no HCL attribute form", v.Type())
}

func deref[T any](p *T) T {
	var zero T
	if p == nil {
		return zero
	}
	return *p
}

// durationText is Go's duration text without its trailing zero units:
// "5m" rather than "5m0s".
func durationText(d time.Duration) string {
	s := d.String()
	if strings.HasSuffix(s, "m0s") {
		s = strings.TrimSuffix(s, "0s")
	}
	if strings.HasSuffix(s, "h0m") {
		s = strings.TrimSuffix(s, "0m")
	}
	return s
}
