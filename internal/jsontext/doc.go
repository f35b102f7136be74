// Package jsontext writes JSON text byte for byte as encoding/json writes
// it, for encoders that write their types field by field rather than by
// reflection: strings escaped as encoding/json escapes them, floats in its
// shortest form, and the layout of json.MarshalIndent with two spaces, or
// of json.Marshal.
package jsontext
