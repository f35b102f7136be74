package lang

import (
	"fmt"
	"reflect"
	"strings"
)

// dump renders an AST as an indented outline: each node's type and span,
// then its scalar fields, so golden files show both shape and positions.
func dump(f *File) string {
	var b strings.Builder
	for _, d := range f.Decls {
		dumpValue(&b, reflect.ValueOf(d), "", 0)
	}
	for _, c := range f.Comments {
		fmt.Fprintf(&b, "comment %s %q\n", span(c.Span), c.Text)
	}
	return b.String()
}

func span(s Span) string {
	return fmt.Sprintf("%d:%d-%d:%d", s.Start().Line(), s.Start().Column(), s.End().Line(), s.End().Column())
}

func dumpValue(b *strings.Builder, v reflect.Value, label string, depth int) {
	for v.Kind() == reflect.Pointer || v.Kind() == reflect.Interface {
		if v.IsNil() {
			return
		}
		v = v.Elem()
	}
	indent := strings.Repeat("  ", depth)
	switch v.Kind() {
	case reflect.Struct:
		var sp Span
		if f := v.FieldByName("Span"); f.IsValid() {
			sp = f.Interface().(Span)
		} else { // an Attr's span is made of its key's and its value's
			sp = v.Addr().Interface().(interface{ Span() Span }).Span()
		}
		fmt.Fprintf(b, "%s%s%s %s", indent, label, v.Type().Name(), span(sp))
		type kid struct {
			name string
			v    reflect.Value
		}
		var kids []kid
		for i := 0; i < v.NumField(); i++ {
			f, ft := v.Field(i), v.Type().Field(i)
			switch {
			case !ft.IsExported():
			case ft.Anonymous:
			case f.Kind() == reflect.Pointer && !f.IsNil() && f.Elem().Kind() == reflect.String:
				fmt.Fprintf(b, " %s=%s", ft.Name, f.Elem().String())
			case f.Kind() == reflect.String:
				fmt.Fprintf(b, " %s=%q", ft.Name, f.String())
			case f.Kind() == reflect.Bool && f.Bool():
				fmt.Fprintf(b, " %s", ft.Name)
			case f.Kind() == reflect.Pointer || f.Kind() == reflect.Slice:
				kids = append(kids, kid{ft.Name, f})
			}
		}
		if a, ok := v.Addr().Interface().(*Attr); ok {
			// Held in place (see Attr).
			kids = append(kids, kid{"Key", reflect.ValueOf(a.Key())}, kid{"Value", reflect.ValueOf(a.Value())})
		}
		if val, ok := v.Addr().Interface().(*Value); ok {
			// One part, kept in no field of its kind (see Value).
			switch {
			case val.Lit() != NoLit:
				name := val.Lit().String()
				fmt.Fprintf(b, " %s=%s", strings.ToUpper(name[:1])+name[1:], val.Text())
			case val.List() != nil:
				kids = append(kids, kid{"List", reflect.ValueOf(val.List())})
			case val.Object() != nil:
				kids = append(kids, kid{"Object", reflect.ValueOf(val.Object())})
			case val.Ref() != nil:
				kids = append(kids, kid{"Ref", reflect.ValueOf(val.Ref())})
			}
		}
		if r, ok := v.Addr().Interface().(*Ref); ok {
			// Kept apart from its fields (see Ref).
			kids = append(kids, kid{"TypeArgs", reflect.ValueOf(r.TypeArgs())}, kid{"Args", reflect.ValueOf(r.Args())})
		}
		b.WriteString("\n")
		for _, k := range kids {
			f, name := k.v, strings.ToLower(k.name)+": "
			if f.Kind() == reflect.Slice {
				for j := 0; j < f.Len(); j++ {
					dumpValue(b, f.Index(j), name, depth+1)
				}
				continue
			}
			dumpValue(b, f, name, depth+1)
		}
	}
}
