package lang

import (
	"strings"
	"testing"
)

func TestParseAttrs(t *testing.T) {
	attrs, diags := ParseAttrs("prod.params", []byte("// production\nreplicas = 3\nenv = \"prod\"\ntimeout = 1m\nlimits { cpu = 0.5 }\n"))
	if len(diags) > 0 {
		t.Fatal(diags)
	}
	var got []string
	for _, a := range attrs {
		got = append(got, a.Key().Name)
	}
	if strings.Join(got, ",") != "replicas,env,timeout,limits" || attrs[0].Value().Lit() != IntLit || attrs[0].Value().Text() != "3" || attrs[0].Start().Line() != 2 {
		t.Errorf("got %v", got)
	}
	for src, want := range map[string]string{
		"replicas 3": `prod.params:1:10: error: expected "=" or "{", found integer 3`,
		"= 3":        `prod.params:1:1: error: expected a parameter name, found "="`,
		"a = \"x":    "prod.params:1:5: error: unterminated string",
		"a = [1,":    `prod.params:1:8: error: expected a value or "]", found the end of the file`,
	} {
		_, diags := ParseAttrs("prod.params", []byte(src))
		if len(diags) == 0 || !strings.HasPrefix(diags[0].Error(), want) {
			t.Errorf("%q: got %v, want %s", src, diags, want)
		}
	}
}
