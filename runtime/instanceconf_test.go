package runtime

import (
	"encoding/json"
	"io/fs"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/meshc/meshc/planner/plan"
)

func TestSetIndex(t *testing.T) {
	for _, tc := range []struct {
		env, conf string
		want      int
		err       bool
	}{
		{want: 7},
		{env: "2", conf: `{"instanceID": 3}`, want: 2},
		{conf: `{"instanceID": 3, "funcID": "x"}`, want: 3},
		{conf: `{"funcID": "x"}`, want: 7},
		{env: "-1", err: true},
		{env: "two", err: true},
		{conf: `{`, err: true},
		{conf: `{"instanceID": -2}`, err: true},
	} {
		in := &plan.Instance{Index: 7}
		conf, err := parseInstanceConf(tc.conf)
		if err == nil {
			err = setIndex(in, tc.env, conf)
		}
		if (err != nil) != tc.err || in.Index != tc.want && !tc.err {
			t.Errorf("env %q, conf %q: index %d, %v; want %d, error %v", tc.env, tc.conf, in.Index, err, tc.want, tc.err)
		}
	}
}

// TestLoadInstance shows where the plan comes from, first found first.
func TestLoadInstance(t *testing.T) {
	planOf := func(name string) string {
		data, err := json.Marshal(plan.Instance{APIVersion: plan.APIVersion, Component: plan.Component{Name: name, Kind: plan.Function}})
		if err != nil {
			t.Fatal(err)
		}
		return string(data)
	}
	userConfig := func(v any) string {
		data, err := json.Marshal(map[string]any{"greeting": "hi there", UserConfigPlanKey: v})
		if err != nil {
			t.Fatal(err)
		}
		return string(data)
	}
	files := map[string]string{"/flag.json": planOf("from-flag"), "/env-file.json": planOf("from-env-file")}
	readFile := func(name string) ([]byte, error) {
		if s, ok := files[name]; ok {
			return []byte(s), nil
		}
		return nil, fs.ErrNotExist
	}
	for _, tc := range []struct {
		name, flag string
		env        map[string]string
		conf       InstanceConf
		want, err  string
	}{
		{name: "flag first", flag: "/flag.json", env: map[string]string{"MESHC_INSTANCE_PLAN_FILE": "/env-file.json"}, want: "from-flag"},
		{name: "file in the environment", env: map[string]string{"MESHC_INSTANCE_PLAN_FILE": "/env-file.json", "MESHC_INSTANCE_PLAN": planOf("x")}, want: "from-env-file"},
		{name: "JSON in the environment", env: map[string]string{"MESHC_INSTANCE_PLAN": planOf("from-env")}, conf: InstanceConf{UserConfig: userConfig(json.RawMessage(planOf("x")))}, want: "from-env"},
		{name: "user config object", conf: InstanceConf{UserConfig: userConfig(json.RawMessage(planOf("from-conf")))}, want: "from-conf"},
		{name: "user config string", conf: InstanceConf{UserConfig: userConfig(planOf("from-conf-string"))}, want: "from-conf-string"},
		{name: "missing file", flag: "/nowhere.json", err: "reading the instance plan"},
		{name: "no plan anywhere", conf: InstanceConf{UserConfig: `{"a":"b"}`}, err: "no instance plan"},
		{name: "user config not an object", conf: InstanceConf{UserConfig: `[1]`}, err: "userConfig is not a JSON object"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			in, err := loadInstance(tc.flag, func(k string) string { return tc.env[k] }, readFile, tc.conf)
			if tc.err != "" {
				if err == nil || !strings.Contains(err.Error(), tc.err) {
					t.Fatalf("error %v, want one saying %q", err, tc.err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(tc.want, in.Component.Name); diff != "" {
				t.Errorf("plan from the wrong place (-want +got):\n%s", diff)
			}
		})
	}
}

func TestPulsarURL(t *testing.T) {
	conf := InstanceConf{PulsarServiceURL: "pulsar://conf:6650"}
	for _, tc := range []struct {
		flag, env string
		conf      InstanceConf
		want      string
	}{
		{want: defaultPulsarURL},
		{conf: conf, want: "pulsar://conf:6650"},
		{env: "pulsar://env:6650", conf: conf, want: "pulsar://env:6650"},
		{flag: "pulsar://flag:6650", env: "pulsar://env:6650", conf: conf, want: "pulsar://flag:6650"},
	} {
		if got := pulsarURL(tc.flag, tc.env, tc.conf); got != tc.want {
			t.Errorf("pulsarURL(%q, %q, %q) = %q, want %q", tc.flag, tc.env, tc.conf.PulsarServiceURL, got, tc.want)
		}
	}
}

// TestInstanceConfOfTheOperator reads the configuration the Function Mesh
// operator (v0.27.2) writes for a Go function, as its bash line hands it
// over: every field is read, and the metrics port is where /metrics is
// served without -listen.
func TestInstanceConfOfTheOperator(t *testing.T) {
	const operator = `{"pulsarServiceURL":"pulsar://10.0.0.1:6650","instanceID":2,"funcID":"2-0d6f","funcVersion":"0","maxBufTuples":100,"port":9093,"clusterName":"kubernetes","tenant":"public","nameSpace":"default","name":"split","logTopic":"","processingGuarantees":1,"secretsMap":"","runtime":3,"autoAck":true,"parallelism":2,"subscriptionType":0,"timeoutMs":0,"subscriptionName":"wordcount-split","cleanupSubscription":false,"sourceSpecsTopic":"persistent://public/default/sentences","sourceSchemaType":"","isRegexPatternSubscription":false,"receiverQueueSize":0,"sinkSpecsTopic":"persistent://public/default/words","sinkSchemaType":"","cpu":0,"ram":134217728,"disk":0,"maxMessageRetries":3,"deadLetterTopic":"","expectedHealthCheckInterval":-1,"userConfig":"{}","metricsPort":9094}`
	conf, err := parseInstanceConf(operator)
	if err != nil {
		t.Fatal(err)
	}
	want := InstanceConf{PulsarServiceURL: "pulsar://10.0.0.1:6650", InstanceID: ptrTo(2), FuncID: "2-0d6f", FuncVersion: "0",
		MaxBufTuples: 100, Port: 9093, ClusterName: "kubernetes", Tenant: "public", Namespace: "default", Name: "split",
		ProcessingGuarantees: GuaranteeAtMostOnce, Runtime: RuntimeGo, AutoAck: true, Parallelism: 2,
		SubscriptionName: "wordcount-split", SourceSpecTopic: "persistent://public/default/sentences",
		SinkSpecTopic: "persistent://public/default/words", RAM: 134217728, MaxMessageRetries: 3,
		ExpectedHealthCheckInterval: -1, UserConfig: "{}", MetricsPort: 9094}
	if diff := cmp.Diff(want, conf); diff != "" {
		t.Errorf("(-want +got):\n%s", diff)
	}
	if got := conf.listen(""); got != ":9094" {
		t.Errorf("listen without -listen = %q, want :9094", got)
	}
	if got := conf.listen("127.0.0.1:1"); got != "127.0.0.1:1" {
		t.Errorf("listen with -listen = %q, want the flag's", got)
	}
	if p, err := conf.plan(); p != nil || err != nil {
		t.Errorf("plan() = %q, %v; want none", p, err)
	}
	if _, err := loadInstance("", func(string) string { return "" }, nil, conf); err == nil || !strings.Contains(err.Error(), UserConfigPlanKey) {
		t.Errorf("no plan anywhere: %v, want an error naming %s", err, UserConfigPlanKey)
	}
}

func ptrTo[T any](v T) *T { return &v }

// TestInstanceConfConnection: the authentication a secured Pulsar worker
// writes into the instance configuration, taken where the environment
// says nothing.
func TestInstanceConfConnection(t *testing.T) {
	const token = "org.apache.pulsar.client.impl.auth.AuthenticationToken"
	for _, tc := range []struct {
		name string
		conf InstanceConf
		env  Connection
		want Connection
		err  string
	}{
		{name: "none", want: Connection{}},
		{name: "token file", conf: InstanceConf{ClientAuthenticationPlugin: token, ClientAuthenticationParameters: "file:///run/token", TLSTrustCertsFilePath: "/ca.pem"},
			want: Connection{TokenFile: "/run/token", TrustCertsFile: "/ca.pem"}},
		{name: "inline token", conf: InstanceConf{ClientAuthenticationPlugin: "token", ClientAuthenticationParameters: "token:abc"}, err: "file:///PATH"},
		{name: "token file as JSON", conf: InstanceConf{ClientAuthenticationPlugin: "token", ClientAuthenticationParameters: `{"file": "/run/token"}`},
			want: Connection{TokenFile: "/run/token"}},
		{name: "bad parameters", conf: InstanceConf{ClientAuthenticationPlugin: "tls", ClientAuthenticationParameters: "nothing"}, err: "KEY:VALUE"},
		{name: "tls", conf: InstanceConf{ClientAuthenticationPlugin: "org.apache.pulsar.client.impl.auth.AuthenticationTls", ClientAuthenticationParameters: "tlsCertFile:/c.pem, tlsKeyFile:/k.pem"},
			want: Connection{CertFile: "/c.pem", KeyFile: "/k.pem"}},
		{name: "oauth2", conf: InstanceConf{ClientAuthenticationPlugin: "org.apache.pulsar.client.impl.auth.oauth2.AuthenticationOAuth2",
			ClientAuthenticationParameters: `{"type":"client_credentials","issuerUrl":"https://issuer","privateKey":"file:///creds.json","audience":"aud","scope":"a b"}`},
			want: Connection{IssuerURL: "https://issuer", CredentialsFile: "file:///creds.json", Audience: "aud", Scope: "a b"}},
		{name: "unknown plugin", conf: InstanceConf{ClientAuthenticationPlugin: "com.example.Auth"}, err: "com.example.Auth"},
		{name: "environment first", conf: InstanceConf{ClientAuthenticationPlugin: token, ClientAuthenticationParameters: "file:///run/token", TLSTrustCertsFilePath: "/ca.pem"},
			env: Connection{CertFile: "/c.pem", KeyFile: "/k.pem", TrustCertsFile: "/mine.pem"}, want: Connection{CertFile: "/c.pem", KeyFile: "/k.pem", TrustCertsFile: "/mine.pem"}},
	} {
		got, err := tc.conf.connection(tc.env)
		if tc.err != "" {
			if err == nil || !strings.Contains(err.Error(), tc.err) {
				t.Errorf("%s: %v, want an error naming %q", tc.name, err, tc.err)
			}
			continue
		}
		if err != nil {
			t.Errorf("%s: %v", tc.name, err)
			continue
		}
		if diff := cmp.Diff(tc.want, got, cmp.AllowUnexported(Connection{})); diff != "" {
			t.Errorf("%s (-want +got):\n%s", tc.name, diff)
		}
	}
}
