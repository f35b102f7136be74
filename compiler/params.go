package compiler

import (
	"fmt"
	"slices"
	"strconv"
	"time"

	"github.com/meshc/meshc/lang"
)

var paramTypes = []string{"int", "float", "string", "bool", "duration", "size"}

// ParseParam reads the text of a parameter value (from -p NAME=VALUE) as
// typ: an int, a float, any string, true or false, a duration such as 30s,
// or a size such as 512Mi. The error says what was expected.
func ParseParam(typ ParamType, text string) (any, error) {
	switch typ {
	case ParamInt:
		i, err := strconv.ParseInt(text, 10, 64)
		if err != nil {
			return nil, fmt.Errorf("want an int, such as 3, found %q", text)
		}
		return i, nil
	case ParamFloat:
		f, err := strconv.ParseFloat(text, 64)
		if err != nil {
			return nil, fmt.Errorf("want a number, such as 0.5, found %q", text)
		}
		return f, nil
	case ParamString:
		return text, nil
	case ParamBool:
		switch text {
		case "true":
			return true, nil
		case "false":
			return false, nil
		}
		return nil, fmt.Errorf("want true or false, found %q", text)
	case ParamDuration:
		d, err := time.ParseDuration(text)
		if err != nil {
			return nil, fmt.Errorf("want a duration, such as 30s or 1m30s, found %q", text)
		}
		return d, nil
	case ParamSize:
		return parseSize(text)
	}
	return nil, fmt.Errorf("unknown parameter type %s", typ)
}

// resolveParams types the parameters, checks their defaults and binds the
// values given by the caller. A caller's value for an undeclared parameter
// is reported at the mesh declaration, the mesh's one sure place.
func (c *compiler) resolveParams(bindings map[string]string) {
	for _, d := range c.paramOrder {
		p := c.param(d, bindings)
		c.params[p.Name] = p
		c.mesh.Params = append(c.mesh.Params, p)
	}
	var unknown []string
	for name := range bindings {
		if _, ok := c.paramDecls[name]; !ok {
			unknown = append(unknown, name)
		}
	}
	slices.Sort(unknown)
	for _, name := range unknown {
		// With no mesh declaration to point at, the error is at the start
		// of no file, and ends nowhere.
		start, end := lang.NewPos("", 0, 1, 1), lang.Pos{}
		if len(c.meshDecls) > 0 {
			start, end = c.meshDecls[0].Name.Start(), c.meshDecls[0].Name.End()
		}
		d := c.add(lang.Errorf(start, end, "-p %s: the mesh declares no parameter %s", name, name))
		c.suggest(d, name, keys(c.paramDecls))
	}
}

func (c *compiler) param(d *lang.Param, bindings map[string]string) *Param {
	p := &Param{Name: d.Name.Name, Span: d.Span}
	typ := ""
	if d.Type.Name != nil && len(d.Type.Name.TypeArgs()) == 0 && d.Type.Name.Args() == nil {
		typ = refName(d.Type.Name)
	}
	if !slices.Contains(paramTypes, typ) {
		diag := c.errorf(d.Type.Span, "unknown parameter type %s", typeText(d.Type))
		c.suggest(diag, typ, paramTypes)
		if diag.Hint == "" {
			diag.Hint = "parameter types: " + joinNames(paramTypes)
		}
		return p
	}
	if d.Type.Optional {
		c.errorf(d.Type.Span, "a parameter type cannot be optional").WithHint("give it a default instead")
	}
	p.Type = ParamType(typ)
	if text, ok := bindings[p.Name]; ok {
		v, err := ParseParam(p.Type, text)
		if err != nil {
			c.errorf(d.Name.Span, "-p %s=%s: %v", p.Name, text, err)
			return p
		}
		p.Value, p.Set = v, true
	}
	if d.Default != nil {
		v, ok := c.paramDefault(p, d.Default)
		if ok && p.Value == nil {
			p.Value = v
		}
	}
	if p.Value == nil && d.Default == nil {
		c.errorf(d.Name.Span, "parameter %s has no value", p.Name).WithHint("pass -p %s=VALUE or give it a default: param %s %s = VALUE", p.Name, p.Name, p.Type)
	}
	return p
}

// paramDefault checks a default against the declared type.
func (c *compiler) paramDefault(p *Param, n *lang.Value) (any, bool) {
	if n.Ref() != nil {
		c.errorf(n.Span, "a parameter default must be a literal").WithHint("write the value itself")
		return nil, false
	}
	v, ok := c.eval(n)
	if !ok {
		return nil, false
	}
	want := map[ParamType]valueKind{ParamInt: kInt, ParamFloat: kFloat, ParamString: kString, ParamBool: kBool, ParamDuration: kDuration, ParamSize: kSize}[p.Type]
	switch {
	case v.kind == want:
		return v.boxed(), true
	case want == kFloat && v.kind == kInt:
		return float64(v.n), true
	}
	c.errorf(n.Span, "the default of %s must be %s, found %s", p.Name, article(string(p.Type)), v.describe())
	return nil, false
}

func typeText(t *lang.Type) string {
	if t.Record != nil {
		return "{...}"
	}
	return refName(t.Name)
}
