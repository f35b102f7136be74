package compiler

// Builtin describes a built-in function, source or sink: its signature, its
// configuration keys and whether it needs state. SPEC.md lists the catalog.
type Builtin struct {
	Name string
	Kind Kind
	// In is what a function or sink reads and Out what a function or
	// source writes. A nil In reads any schema; Same makes Out equal to the
	// schema read (T -> T). A json schema with a nil Record is any JSON.
	In, Out *Schema
	Same    bool
	// State says the function keeps key-value state: it needs state = true.
	State bool
	// Publishes says the function publishes to the topics of publishes.
	Publishes bool
	Config    []ConfigKey
	Doc       string
}

// ConfigKey is a configuration key a built-in reads.
type ConfigKey struct {
	Name     string
	Kind     string // string, int, duration, list or object
	Required bool
}

var (
	anyJSON      = &Schema{Kind: SchemaJSON}
	stringSchema = &Schema{Kind: SchemaString}
	countSchema  = &Schema{Kind: SchemaJSON, Record: &Type{Kind: Record, Fields: []*Field{
		{Name: "word", Type: &Type{Kind: String}},
		{Name: "count", Type: &Type{Kind: Int64}},
	}}}
)

// Builtins is the catalog, in SPEC.md's order.
var Builtins = []*Builtin{
	{Name: "identity", Kind: Function, Same: true, Doc: "passes each message on unchanged"},
	{Name: "exclamation", Kind: Function, In: stringSchema, Out: stringSchema, Doc: `appends "!"`},
	{Name: "upper", Kind: Function, In: stringSchema, Out: stringSchema, Doc: "upper-cases the text"},
	{Name: "split_words", Kind: Function, In: stringSchema, Out: stringSchema, Doc: "writes one message per word, lower-cased"},
	{Name: "word_count", Kind: Function, In: stringSchema, Out: countSchema, State: true, Doc: "counts each word in state and writes {word, count}"},
	{Name: "filter", Kind: Function, Same: true, Doc: `passes the messages for which config where holds, as in where = "amount > 100 and country == \"FR\""`,
		Config: []ConfigKey{{Name: "where", Kind: "string", Required: true}}},
	{Name: "route", Kind: Function, Same: true, Publishes: true, Doc: "publishes each message to the topic that config routes maps its field value to, else to the output",
		Config: []ConfigKey{{Name: "field", Kind: "string", Required: true}, {Name: "routes", Kind: "object", Required: true}}},
	{Name: "parse_json", Kind: Function, In: stringSchema, Out: anyJSON, Doc: "reads each line as one JSON value of the output topic's schema, keyed by config key's field when given; a line that is not JSON or does not fit is dead-lettered with the reason",
		Config: []ConfigKey{{Name: "key", Kind: "string"}}},
	{Name: "project", Kind: Function, In: anyJSON, Out: anyJSON, Doc: "keeps only the fields listed in config fields",
		Config: []ConfigKey{{Name: "fields", Kind: "list", Required: true}}},
	{Name: "generator", Kind: Source, Out: stringSchema, Doc: "writes config lines in turn, count messages in all, one every interval",
		Config: []ConfigKey{{Name: "lines", Kind: "list", Required: true}, {Name: "count", Kind: "int"}, {Name: "interval", Kind: "duration"}}},
	{Name: "file", Kind: Source, Out: stringSchema, Doc: "writes the lines of the file at config path",
		Config: []ConfigKey{{Name: "path", Kind: "string", Required: true}}},
	{Name: "stdin", Kind: Source, Out: stringSchema, Doc: "writes the lines of standard input"},
	{Name: "stdout", Kind: Sink, Doc: "prints each message on a line"},
	{Name: "file", Kind: Sink, Doc: "appends each message as a line to the file at config path",
		Config: []ConfigKey{{Name: "path", Kind: "string", Required: true}}},
	{Name: "webhook", Kind: Sink, Doc: "POSTs each message to config url",
		Config: []ConfigKey{{Name: "url", Kind: "string", Required: true}}},
}

// LookupBuiltin returns the built-in of kind called name, or nil.
func LookupBuiltin(kind Kind, name string) *Builtin {
	for _, b := range Builtins {
		if b.Kind == kind && b.Name == name {
			return b
		}
	}
	return nil
}

func builtinNames(kind Kind) []string {
	var names []string
	for _, b := range Builtins {
		if b.Kind == kind {
			names = append(names, b.Name)
		}
	}
	return names
}

// Signature renders the built-in's signature as SPEC.md writes it.
func (b *Builtin) Signature() string {
	in, out := "T", "T"
	if b.In != nil {
		in = b.In.String()
	}
	if b.Out != nil {
		out = b.Out.String()
	}
	switch b.Kind {
	case Source:
		return "-> " + out
	case Sink:
		return in + " ->"
	}
	return in + " -> " + out
}
