package main

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"io/fs"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/apache/pulsar-client-go/pulsar"
	plog "github.com/apache/pulsar-client-go/pulsar/log"
	"github.com/apache/pulsar-client-go/pulsaradmin"
	"github.com/apache/pulsar-client-go/pulsaradmin/pkg/utils"
	"github.com/bufbuild/protocompile"
	"google.golang.org/protobuf/reflect/protoreflect"
	"google.golang.org/protobuf/types/dynamicpb"

	"github.com/meshc/meshc/broker"
	"github.com/meshc/meshc/internal/brokertest"
	"github.com/meshc/meshc/internal/testpki"
)

const (
	orderV1 = `{"type":"record","name":"Order","namespace":"shop","fields":[
 {"name":"id","type":"string"},{"name":"amount","type":"double"}]}`
	// orderV2 adds a field with a default: FULL takes it.
	orderV2 = `{"type":"record","name":"Order","namespace":"shop","fields":[
 {"name":"id","type":"string"},{"name":"amount","type":"double"},{"name":"note","type":"string","default":""}]}`
	// orderV3 adds a field without a default: it cannot read v1's data.
	orderV3 = `{"type":"record","name":"Order","namespace":"shop","fields":[
 {"name":"id","type":"string"},{"name":"amount","type":"double"},{"name":"country","type":"string"}]}`
)

const liveMesh = `mesh shop {
  tenant = "public"
  namespace = "NS"
}

topic orders avro("order.avsc") external
topic big avro("order.avsc")

function big_orders(orders) -> big {
  use = builtin.filter
  config { where = "amount > 10" }
}

sink print(big) { use = builtin.stdout }
`

// TestCheckAgainstCluster: meshc check --pulsar-url reads the schemas the
// cluster holds for the mesh's topics and says, at the topic, a change its
// namespace's strategy forbids (an error) or one it takes (a warning).
func TestCheckAgainstCluster(t *testing.T) {
	b := brokertest.Start(t, broker.Config{AdminListen: "127.0.0.1:0"})
	c := brokertest.Client(t, b.URL())
	admin, err := pulsaradmin.NewClient(&pulsaradmin.Config{WebServiceURL: b.AdminURL()})
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name     string
		strategy utils.SchemaCompatibilityStrategy
		schema   string
		code     int
		want     string
	}{
		{"same schema", utils.SchemaCompatibilityStrategyUndefined, orderV1, exitOK, ""},
		{"compatible change", utils.SchemaCompatibilityStrategyUndefined, orderV2,
			exitOK, `in.mesh:6:14: warning: topic orders: the cluster holds schema AVRO (version 0) for persistent://public/compatible-change/orders, which differs from the mesh's avro("order.avsc")`},
		{"forbidden change", utils.SchemaCompatibilityStrategyBackward, orderV3,
			exitFail, `in.mesh:6:14: error: topic orders: the cluster holds schema AVRO (version 0) for persistent://public/forbidden-change/orders, and its namespace's strategy BACKWARD refuses the mesh's avro("order.avsc"): the mesh's schema cannot read the topic's data`},
		{"any change, always incompatible", utils.SchemaCompatibilityStrategyAlwaysIncompatible, orderV2,
			exitFail, `strategy ALWAYS_INCOMPATIBLE refuses the mesh's avro("order.avsc")`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			ns := strings.NewReplacer(" ", "-", ",", "").Replace(tc.name)
			nsName, err := utils.GetNameSpaceName("public", ns)
			if err != nil {
				t.Fatal(err)
			}
			if err := admin.Namespaces().SetSchemaCompatibilityStrategy(*nsName, tc.strategy); err != nil {
				t.Fatal(err)
			}
			// What is on the cluster: orders written with version 1.
			p, err := c.CreateProducer(pulsar.ProducerOptions{Topic: "persistent://public/" + ns + "/orders", Schema: pulsar.NewAvroSchema(orderV1, nil)})
			if err != nil {
				t.Fatal(err)
			}
			p.Close()

			dir := t.TempDir()
			mesh := filepath.Join(dir, "in.mesh")
			for name, text := range map[string]string{mesh: strings.Replace(liveMesh, "NS", ns, 1), filepath.Join(dir, "order.avsc"): tc.schema} {
				if err := os.WriteFile(name, []byte(text), 0o644); err != nil {
					t.Fatal(err)
				}
			}
			var stdout, stderr bytes.Buffer
			wd, _ := os.Getwd()
			t.Chdir(dir)
			code := Main([]string{"check", "--pulsar-url", b.URL(), "--admin-url", b.AdminURL(), "in.mesh"}, strings.NewReader(""), &stdout, &stderr)
			t.Chdir(wd)
			if code != tc.code {
				t.Fatalf("exit %d, want %d; stderr:\n%s", code, tc.code, stderr.String())
			}
			if tc.want == "" && stderr.Len() > 0 {
				t.Errorf("want no diagnostics, got:\n%s", stderr.String())
			}
			if !strings.Contains(stderr.String(), tc.want) {
				t.Errorf("stderr does not say %q:\n%s", tc.want, stderr.String())
			}
		})
	}
}

const eventProto = `syntax = "proto3";
package acme;
message Event { string user = 1; int64 clicks = 2; }
`

// TestCheckProtobufAgainstCluster: a PROTOBUF_NATIVE schema registered by
// pulsar-client-go's ProtoNativeSchema is the mesh's when the message is
// the same (whatever order the client wrote the descriptor set in), and a
// field whose type changed is refused under the default strategy.
func TestCheckProtobufAgainstCluster(t *testing.T) {
	b := brokertest.Start(t, broker.Config{AdminListen: "127.0.0.1:0"})
	c := brokertest.Client(t, b.URL())
	for _, tc := range []struct {
		name, proto string
		code        int
		want        string
	}{
		{"same", eventProto, exitOK, ""},
		{"type changed", strings.Replace(eventProto, "int64 clicks", "string clicks", 1), exitFail,
			`error: topic events: the cluster holds schema PROTOBUF_NATIVE (version 0) for persistent://public/type-changed/events, and its namespace's strategy FULL refuses the mesh's protobuf("event.proto", "acme.Event")`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			ns := strings.ReplaceAll(tc.name, " ", "-")
			md := compileProto(t, eventProto).Messages().ByName("Event")
			p, err := c.CreateProducer(pulsar.ProducerOptions{Topic: "persistent://public/" + ns + "/events",
				Schema: pulsar.NewProtoNativeSchemaWithMessage(dynamicpb.NewMessage(md), nil)})
			if err != nil {
				t.Fatal(err)
			}
			p.Close()
			dir := t.TempDir()
			mesh := "mesh shop {\n  namespace = \"" + ns + "\"\n}\n\ntopic events protobuf(\"event.proto\", \"acme.Event\") external\nsink print(events) { use = builtin.stdout }\n"
			for name, text := range map[string]string{"in.mesh": mesh, "event.proto": tc.proto} {
				if err := os.WriteFile(filepath.Join(dir, name), []byte(text), 0o644); err != nil {
					t.Fatal(err)
				}
			}
			var stdout, stderr bytes.Buffer
			code := Main([]string{"check", "--pulsar-url", b.URL(), "--admin-url", b.AdminURL(), filepath.Join(dir, "in.mesh")}, strings.NewReader(""), &stdout, &stderr)
			if code != tc.code || (tc.want == "") != (stderr.Len() == 0) || !strings.Contains(stderr.String(), tc.want) {
				t.Errorf("exit %d, want %d; stderr:\n%s\nwant it to say %q", code, tc.code, stderr.String(), tc.want)
			}
		})
	}
}

func compileProto(t *testing.T, text string) protoreflect.FileDescriptor {
	t.Helper()
	comp := protocompile.Compiler{Resolver: &protocompile.SourceResolver{Accessor: func(path string) (io.ReadCloser, error) {
		if path != "event.proto" {
			return nil, fs.ErrNotExist
		}
		return io.NopCloser(strings.NewReader(text)), nil
	}}}
	files, err := comp.Compile(context.Background(), "event.proto")
	if err != nil {
		t.Fatal(err)
	}
	return files[0]
}

// TestCheckSecuredCluster: the check reaches a cluster that wants a token
// as the mesh's pulsar block says, the token given by its flag; without
// it, check says which flag to pass.
func TestCheckSecuredCluster(t *testing.T) {
	secret, token := testpki.Tokens(t, "admin")
	b := brokertest.Start(t, broker.Config{AdminListen: "127.0.0.1:0", AuthenticationEnabled: true, AuthTokenSecretKeyFile: secret})
	tok, err := os.ReadFile(token)
	if err != nil {
		t.Fatal(err)
	}
	c, err := pulsar.NewClient(pulsar.ClientOptions{URL: b.URL(), Authentication: pulsar.NewAuthenticationToken(strings.TrimSpace(string(tok))),
		Logger: plog.NewLoggerWithSlog(slog.New(slog.DiscardHandler))})
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	p, err := c.CreateProducer(pulsar.ProducerOptions{Topic: "persistent://public/secured/orders", Schema: pulsar.NewAvroSchema(orderV1, nil)})
	if err != nil {
		t.Fatal(err)
	}
	p.Close()

	dir := t.TempDir()
	mesh := fmt.Sprintf(`mesh shop {
  namespace = "secured"
  pulsar {
    url = %q
    admin_url = %q
    token = secret("pulsar/admin", "token")
  }
}

topic orders avro("order.avsc") external
sink print(orders) { use = builtin.stdout }
`, b.URL(), b.AdminURL())
	for name, text := range map[string]string{"in.mesh": mesh, "order.avsc": orderV3} {
		if err := os.WriteFile(filepath.Join(dir, name), []byte(text), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	_, forged := testpki.Tokens(t, "admin") // signed with another key
	for _, tc := range []struct {
		flags []string
		code  int
		want  string
	}{
		{nil, exitFail, `pass --pulsar-token-file for secret("pulsar/admin", "token")`},
		{[]string{"--pulsar-token-file", forged}, exitFail, "reading the schema registry of Pulsar at " + b.AdminURL()},
		{[]string{"--pulsar-token-file", token}, exitFail, "strategy FULL refuses the mesh's avro(\"order.avsc\")"},
	} {
		var stdout, stderr bytes.Buffer
		args := append(append([]string{"check", "--pulsar-url", b.URL()}, tc.flags...), filepath.Join(dir, "in.mesh"))
		if code := Main(args, strings.NewReader(""), &stdout, &stderr); code != tc.code || !strings.Contains(stderr.String(), tc.want) {
			t.Errorf("%v: exit %d, want %d saying %q:\n%s", tc.flags, code, tc.code, tc.want, stderr.String())
		}
	}
}
