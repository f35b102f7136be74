package compiler

import (
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/meshc/meshc/internal/userconfig"
	"github.com/meshc/meshc/lang"
)

// valueKind names what a value is, for messages and for checks.
type valueKind string

const (
	kString   valueKind = "string"
	kInt      valueKind = "int"
	kFloat    valueKind = "number"
	kDuration valueKind = "duration"
	kSize     valueKind = "size"
	kBool     valueKind = "bool"
	kList     valueKind = "list"
	kObject   valueKind = "object"
	kName     valueKind = "name"
	kCall     valueKind = "call"
)

// value is a source value with param.X references replaced by the bound
// parameter values. Its Go value is kept unboxed, in the field of its
// kind, as most values are read once and dropped: boxing each cost an
// allocation.
type value struct {
	kind  valueKind
	s     string        // kString
	n     int64         // kInt; kSize in bytes; kDuration as a time.Duration
	f     float64       // kFloat
	b     bool          // kBool
	items []*lang.Value // kList
	obj   *lang.Object  // kObject
	text  string        // the literal's source text, for durations and sizes
	param string        // X when the value came from param.X
	node  *lang.Value
}

// boxed is v's Go value as the model keeps it: string, int64, float64,
// bool, time.Duration, int64 bytes for sizes, []*lang.Value or *lang.Object.
func (v value) boxed() any {
	switch v.kind {
	case kString:
		return v.s
	case kInt, kSize:
		return v.n
	case kDuration:
		return time.Duration(v.n)
	case kFloat:
		return v.f
	case kBool:
		return v.b
	case kList:
		return v.items
	case kObject:
		return v.obj
	}
	return nil
}

// unboxed is the value of a parameter's Go value, which boxed returns.
func unboxed(x any) value {
	var v value
	switch x := x.(type) {
	case string:
		v.s = x
	case int64:
		v.n = x
	case time.Duration:
		v.n = int64(x)
	case float64:
		v.f = x
	case bool:
		v.b = x
	}
	return v
}

// describe says what a value is, for "want X, found ..." messages.
func (v value) describe() string {
	switch {
	case v.param != "":
		return fmt.Sprintf("param.%s (a %s)", v.param, v.kind)
	case v.kind == kName:
		return "the name " + refName(v.node.Ref())
	case v.kind == kCall:
		return "the call " + refName(v.node.Ref()) + "(...)"
	case v.kind == kString:
		return fmt.Sprintf("the string %q", v.s)
	case v.text != "":
		return fmt.Sprintf("the %s %s", v.kind, v.text)
	}
	return "a " + string(v.kind)
}

// eval reads a value. It reports unresolvable param references and returns
// false for them.
func (c *compiler) eval(n *lang.Value) (value, bool) {
	v := value{node: n}
	text := n.Text() // a literal's; every value is read here, so each test is made once
	switch n.Lit() {
	case lang.StringLit:
		s, err := lang.Unquote(text)
		if err != nil {
			s = strings.Trim(text, "\"`") // the parser already reported it
		}
		v.kind, v.s = kString, s
	case lang.IntLit:
		i, _ := strconv.ParseInt(text, 10, 64)
		v.kind, v.n, v.text = kInt, i, text
	case lang.FloatLit:
		f, _ := strconv.ParseFloat(text, 64)
		v.kind, v.f, v.text = kFloat, f, text
	case lang.DurationLit:
		d, _ := time.ParseDuration(text)
		v.kind, v.n, v.text = kDuration, int64(d), text
	case lang.SizeLit:
		b, err := parseSize(text)
		if err != nil {
			c.errorf(n.Span, "%v", err)
			return v, false
		}
		v.kind, v.n, v.text = kSize, b, text
	case lang.BoolLit:
		v.kind, v.b = kBool, text == "true"
	default:
		return c.evalNode(v)
	}
	return v, true
}

// evalNode is eval of a value that is not a literal.
func (c *compiler) evalNode(v value) (value, bool) {
	n := v.node
	if l := n.List(); l != nil {
		v.kind, v.items = kList, l.Items
		return v, true
	}
	if o := n.Object(); o != nil {
		v.kind, v.obj = kObject, o
		return v, true
	}
	switch r := n.Ref(); {
	case r != nil && len(r.Parts) > 0 && r.Parts[0].Name == "param":
		return c.paramValue(n)
	case r != nil && r.Args() != nil:
		v.kind = kCall
	default:
		v.kind = kName
	}
	return v, true
}

// paramValue resolves param.NAME to the parameter's bound value.
func (c *compiler) paramValue(n *lang.Value) (value, bool) {
	ref := n.Ref()
	if len(ref.Parts) != 2 || ref.Args() != nil || len(ref.TypeArgs()) > 0 {
		c.errorf(ref.Span, "write a parameter reference as param.NAME")
		return value{}, false
	}
	name := ref.Parts[1].Name
	p, ok := c.params[name]
	if !ok {
		d := c.errorf(ref.Parts[1].Span, "unknown parameter %s", name)
		c.suggest(d, name, keys(c.params))
		if d.Hint == "" {
			d.Hint = fmt.Sprintf("declare it: param %s TYPE = DEFAULT", name)
		}
		return value{}, false
	}
	if p.Value == nil {
		return value{}, false // reported at the declaration
	}
	v := unboxed(p.Value)
	v.param, v.node = name, n
	switch p.Type {
	case ParamInt:
		v.kind = kInt
	case ParamFloat:
		v.kind = kFloat
	case ParamString:
		v.kind = kString
	case ParamBool:
		v.kind = kBool
	case ParamDuration:
		v.kind, v.text = kDuration, p.Value.(time.Duration).String()
	case ParamSize:
		v.kind, v.text = kSize, strconv.FormatInt(p.Value.(int64), 10)
	}
	return v, true
}

// want reads the value of a, and reports it unless its kind is one of
// kinds. An int is a number where a number is wanted.
func (c *compiler) want(a *lang.Attr, what string, kinds ...valueKind) (value, bool) {
	v, ok := c.eval(a.Value())
	if !ok {
		return v, false
	}
	for _, k := range kinds {
		if v.kind == k {
			return v, true
		}
		if k == kFloat && v.kind == kInt {
			v.kind, v.f = kFloat, float64(v.n)
			return v, true
		}
	}
	c.errorf(a.Value().Span, "%s wants %s, found %s", a.Key().Name, what, v.describe())
	return v, false
}

func (c *compiler) stringValue(a *lang.Attr) (string, bool) {
	v, ok := c.want(a, "a string", kString)
	if !ok {
		return "", false
	}
	return v.s, true
}

func (c *compiler) intValue(a *lang.Attr, min int64) (int, bool) {
	v, ok := c.want(a, "an int", kInt)
	if !ok {
		return 0, false
	}
	i := v.n
	if i < min {
		c.errorf(a.Value().Span, "%s must be at least %d, found %d", a.Key().Name, min, i)
		return 0, false
	}
	return int(i), true
}

func (c *compiler) boolValue(a *lang.Attr) (bool, bool) {
	v, ok := c.want(a, "true or false", kBool)
	if !ok {
		return false, false
	}
	return v.b, true
}

func (c *compiler) objectValue(a *lang.Attr) *lang.Object {
	v, ok := c.want(a, "an object { ... }", kObject)
	if !ok {
		return nil
	}
	return v.obj
}

// enumValue reads a bare name that must be one of names; what names the
// setting in messages.
func (c *compiler) enumValue(a *lang.Attr, what string, names []string) (string, bool) {
	v, ok := c.eval(a.Value())
	if ok && v.kind != kName {
		_, ok = c.want(a, "one of "+joinNames(names), kName) // says what is wrong
	}
	if !ok {
		return "", false
	}
	ref := v.node.Ref()
	name := refName(ref)
	for _, n := range names {
		if n == name && len(ref.TypeArgs()) == 0 {
			return name, true
		}
	}
	d := c.errorf(ref.Span, "unknown %s %s", what, name)
	c.suggest(d, name, names)
	if d.Hint == "" {
		d.Hint = "use one of " + joinNames(names)
	} else {
		d.Hint += " (one of " + joinNames(names) + ")"
	}
	return "", false
}

// stringArgs returns the call arguments of ref when there are n of them (or
// at least -n when n < 0) and all are strings; otherwise nil.
func (c *compiler) stringArgs(ref *lang.Ref, n int) []string {
	if ref.Args() == nil || len(ref.TypeArgs()) > 0 {
		return nil
	}
	vals := ref.Args().Values
	if (n >= 0 && len(vals) != n) || (n < 0 && len(vals) < -n) {
		return nil
	}
	out := c.stringLists.take(len(vals))
	for _, a := range vals {
		v, ok := c.eval(a)
		if !ok || v.kind != kString {
			return nil
		}
		out = append(out, v.s)
	}
	return out
}

// goValue converts a config value to plain Go data: string, int64, float64,
// bool, []any, map[string]any; durations and sizes keep their text.
func (c *compiler) goValue(n *lang.Value) (any, bool) {
	v, ok := c.eval(n)
	if !ok {
		return nil, false
	}
	switch v.kind {
	case kDuration, kSize:
		if v.param != "" && v.kind == kDuration {
			return time.Duration(v.n).String(), true
		}
		return v.text, true
	case kList:
		items := v.items
		out := c.valueLists.take(len(items))
		good := true
		for _, it := range items {
			x, ok := c.goValue(it)
			good = good && ok
			out = append(out, x)
		}
		return out, good
	case kObject:
		out := map[string]any{}
		good := true
		for _, a := range c.attrsAny(v.obj) {
			x, ok := c.goValue(a.Value())
			good = good && ok
			out[a.Key().Name] = x
		}
		return out, good
	case kName, kCall:
		c.errorf(n.Span, "a config value cannot be %s", v.describe()).WithHint(`quote text ("%s"); values are strings, numbers, bools, lists, objects and param.NAME`, refName(n.Ref()))
		return nil, false
	}
	return v.boxed(), true
}

// goConfig is goValue for a whole config, which objectValue has found an
// object: its keys as sorted entries rather than a map.
func (c *compiler) goConfig(n *lang.Value) (Config, bool) {
	v, ok := c.eval(n)
	if !ok || v.kind != kObject {
		return nil, ok
	}
	attrs := c.attrsAny(v.obj)
	out := Config(c.configs.take(len(attrs)))
	good := true
	for _, a := range attrs {
		x, ok := c.goValue(a.Value())
		good = good && ok
		out = append(out, ConfigEntry{Key: a.Key().Name, Value: x})
	}
	userconfig.Sort(out)
	return out, good
}

// attrsAny returns an object's attributes, reporting repeated keys.
func (c *compiler) attrsAny(obj *lang.Object) []*lang.Attr {
	if len(obj.Attrs) <= fewKeys && distinctKeys(obj.Attrs) {
		return obj.Attrs // nothing to report, so no copy
	}
	var out []*lang.Attr
	seen := map[string]*lang.Attr{}
	for _, a := range obj.Attrs {
		if first, dup := seen[a.Key().Name]; dup {
			d := c.errorf(a.Key().Span, "key %s is set twice", a.Key().Name).WithHint("remove one of them")
			d.Related = append(d.Related, lang.Related{Pos: first.Key().Start(), End: first.Key().End(), Message: "first set here"})
			continue
		}
		seen[a.Key().Name] = a
		out = append(out, a)
	}
	return out
}

var sizeUnits = map[string]float64{"": 1, "K": 1e3, "M": 1e6, "G": 1e9, "T": 1e12, "P": 1e15,
	"Ki": 1 << 10, "Mi": 1 << 20, "Gi": 1 << 30, "Ti": 1 << 40, "Pi": 1 << 50}

// ParseSize reads a size such as 512Mi, 2Gi, 100M or 1024 into bytes. Ki,
// Mi, Gi, Ti and Pi are powers of 1024; K, M, G, T and P powers of 1000.
func ParseSize(s string) (int64, error) { return parseSize(s) }

func parseSize(s string) (int64, error) {
	num := strings.TrimRight(s, "KMGTPi")
	unit, ok := sizeUnits[s[len(num):]]
	if !ok || !isDecimal(num) {
		return 0, fmt.Errorf("invalid size %q: write digits and a unit, as in 512Mi, 2Gi or 100M", s)
	}
	n, err := strconv.ParseFloat(num, 64)
	if err != nil {
		return 0, fmt.Errorf("invalid size %q: %v", s, err)
	}
	b := n * unit
	if b >= 1<<63 {
		return 0, fmt.Errorf("size %s is too large", s)
	}
	if b != float64(int64(b)) {
		return 0, fmt.Errorf("size %s is not a whole number of bytes", s)
	}
	return int64(b), nil
}

// isDecimal tells whether s is digits, then maybe a point and digits.
func isDecimal(s string) bool {
	whole, frac, point := strings.Cut(s, ".")
	return digits(whole) && (!point || digits(frac))
}

func digits(s string) bool {
	return s != "" && strings.Trim(s, "0123456789") == ""
}

// article puts a or an before a kind name.
func article(kind string) string {
	if strings.ContainsRune("aeiou", rune(kind[0])) {
		return "an " + kind
	}
	return "a " + kind
}

func joinNames(names []string) string { return strings.Join(names, ", ") }

func keys[V any](m map[string]V) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	return out
}
