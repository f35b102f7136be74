package lang

import (
	"strings"

	"github.com/alecthomas/participle/v2/lexer"
)

// TestExt ends the name of a test file: NAME.meshtest holds the test cases
// of NAME.mesh beside it.
const TestExt = ".meshtest"

// Test is one named test case of a .meshtest file. Its body is written
// as any body of the language; SPEC.md ("Testing a mesh") says which
// attributes it takes, and meshc test checks them against the mesh.
type Test struct {
	Span
	Name *Ident  `parser:"'test' @@" json:"name"`
	Body *Object `parser:"@@" json:"body"`
}

func (*Test) Keyword() string { return "test" }

var testGrammar = &grammar{
	parsers:   map[string]func(*lexer.PeekingLexer) (Decl, error){"test": declParser(itself[*Test])},
	keywords:  []string{"test"},
	emptyHint: "a test file holds test cases, such as: test counts { send { words = [\"a\"] } expect { counts = [1] } }",
}

// IsTestFile tells a test file from a mesh file by its name.
func IsTestFile(filename string) bool { return strings.HasSuffix(filename, TestExt) }

// ParseTests parses a .meshtest file: test declarations only, each with
// its body. It reports every problem with its position and never panics.
func ParseTests(filename string, src []byte) (*File, Diagnostics) {
	return parse(filename, src, testGrammar)
}

// ParseFile parses a mesh file or a test file, as its name says.
func ParseFile(filename string, src []byte) (*File, Diagnostics) {
	if IsTestFile(filename) {
		return ParseTests(filename, src)
	}
	return Parse(filename, src)
}
