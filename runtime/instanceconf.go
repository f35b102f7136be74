package runtime

import (
	"encoding/json"
	"fmt"
	"slices"
	"strconv"
	"strings"

	"github.com/meshc/meshc/planner/plan"
)

// UserConfigPlanKey is the key of a function's user configuration that
// may hold its instance plan, where nothing else can carry it: the plan's
// JSON object, or a string of it.
const UserConfigPlanKey = "meshc.plan"

// InstanceConf is Pulsar's Go instance configuration, the JSON that
// Pulsar's Functions worker and the Function Mesh operator pass to a Go
// function with -instance-conf (Pulsar's pulsar-function-go/conf.Conf,
// whose JSON keys these are; the operator's copy has the same names).
// meshc's embedded Functions worker writes it and meshrt reads it, one
// type for both. What the instance follows is the plan in the user
// configuration (UserConfigPlanKey); of the rest, meshrt takes where
// Pulsar is and how to authenticate (see connection), the replica index,
// the cluster name and the metrics port, and the rest repeats what the
// plan says.
type InstanceConf struct {
	PulsarServiceURL string `json:"pulsarServiceURL"`
	InstanceID       *int   `json:"instanceID"`
	FuncID           string `json:"funcID"`
	FuncVersion      string `json:"funcVersion"`
	MaxBufTuples     int    `json:"maxBufTuples"`
	Port             int    `json:"port"`
	ClusterName      string `json:"clusterName"`
	KillAfterIdleMs  int    `json:"killAfterIdleMs"`

	Tenant               string `json:"tenant"`
	Namespace            string `json:"nameSpace"`
	Name                 string `json:"name"`
	LogTopic             string `json:"logTopic"`
	ProcessingGuarantees int32  `json:"processingGuarantees"`
	// SecretsMap and UserConfig are JSON objects encoded as strings.
	SecretsMap string `json:"secretsMap"`
	Runtime    int32  `json:"runtime"`

	ClientAuthenticationPlugin     string `json:"clientAuthenticationPlugin,omitempty"`
	ClientAuthenticationParameters string `json:"clientAuthenticationParameters,omitempty"`
	TLSTrustCertsFilePath          string `json:"tlsTrustCertsFilePath,omitempty"`
	TLSAllowInsecureConnection     bool   `json:"tlsAllowInsecureConnection,omitempty"`
	TLSHostnameVerificationEnable  bool   `json:"tlsHostnameVerificationEnable,omitempty"`

	AutoAck              bool   `json:"autoAck"`
	Parallelism          int32  `json:"parallelism"`
	SubscriptionType     int32  `json:"subscriptionType"`
	TimeoutMs            uint64 `json:"timeoutMs"`
	SubscriptionName     string `json:"subscriptionName"`
	CleanupSubscription  bool   `json:"cleanupSubscription"`
	SubscriptionPosition int32  `json:"subscriptionPosition"`
	// SourceInputSpecs maps each input topic to its consumer spec (JSON).
	SourceInputSpecs           map[string]string `json:"sourceInputSpecs,omitempty"`
	SourceSpecTopic            string            `json:"sourceSpecsTopic"`
	SourceSchemaType           string            `json:"sourceSchemaType"`
	IsRegexPatternSubscription bool              `json:"isRegexPatternSubscription"`
	ReceiverQueueSize          int32             `json:"receiverQueueSize"`
	SinkSpecTopic              string            `json:"sinkSpecsTopic"`
	SinkSchemaType             string            `json:"sinkSchemaType"`

	CPU  float64 `json:"cpu"`
	RAM  int64   `json:"ram"`
	Disk int64   `json:"disk"`

	MaxMessageRetries           int32  `json:"maxMessageRetries"`
	DeadLetterTopic             string `json:"deadLetterTopic"`
	ExpectedHealthCheckInterval int32  `json:"expectedHealthCheckInterval"`
	UserConfig                  string `json:"userConfig"`
	// MetricsPort is where the instance serves /metrics (and meshrt's
	// /healthz and /readyz) when -listen does not say.
	MetricsPort int `json:"metricsPort"`
}

// Processing guarantees and subscription positions as Pulsar's
// FunctionDetails numbers them in InstanceConf.
const (
	GuaranteeAtLeastOnce     = 0
	GuaranteeAtMostOnce      = 1
	GuaranteeEffectivelyOnce = 2
	GuaranteeManual          = 3
	PositionLatest           = 0
	PositionEarliest         = 1
	// RuntimeGo is Pulsar's FunctionDetails.Runtime number of Go.
	RuntimeGo = 3
)

// listen is the address of /metrics: the -listen flag's when given, else
// every interface on the metrics port, as Pulsar's Go instance serves it.
func (c InstanceConf) listen(flag string) string {
	if flag == "" && c.MetricsPort > 0 {
		return ":" + strconv.Itoa(c.MetricsPort)
	}
	return flag
}

// parseInstanceConf reads -instance-conf; "" is no configuration.
func parseInstanceConf(s string) (InstanceConf, error) {
	var c InstanceConf
	if s == "" {
		return c, nil
	}
	if err := json.Unmarshal([]byte(s), &c); err != nil {
		return InstanceConf{}, fmt.Errorf("-instance-conf is not Pulsar's Go instance configuration: %w", err)
	}
	if c.InstanceID != nil && *c.InstanceID < 0 {
		return InstanceConf{}, fmt.Errorf("-instance-conf: instanceID %d: want a replica index, 0 or more", *c.InstanceID)
	}
	return c, nil
}

// plan is the instance plan the user configuration carries, or nil.
func (c InstanceConf) plan() ([]byte, error) {
	if c.UserConfig == "" {
		return nil, nil
	}
	var uc map[string]json.RawMessage
	if err := json.Unmarshal([]byte(c.UserConfig), &uc); err != nil {
		return nil, fmt.Errorf("-instance-conf: userConfig is not a JSON object: %w", err)
	}
	raw, ok := uc[UserConfigPlanKey]
	if !ok {
		return nil, nil
	}
	var s string
	if json.Unmarshal(raw, &s) == nil {
		return []byte(s), nil
	}
	return raw, nil
}

// loadInstance reads the instance plan from, in order: the -plan file, the
// file $MESHC_INSTANCE_PLAN_FILE names, $MESHC_INSTANCE_PLAN, and the
// instance configuration's user configuration.
func loadInstance(file string, getenv func(string) string, readFile func(string) ([]byte, error), conf InstanceConf) (*plan.Instance, error) {
	if file == "" {
		file = getenv("MESHC_INSTANCE_PLAN_FILE")
	}
	var data []byte
	var err error
	switch {
	case file != "":
		if data, err = readFile(file); err != nil {
			return nil, fmt.Errorf("reading the instance plan: %w", err)
		}
	case getenv("MESHC_INSTANCE_PLAN") != "":
		data = []byte(getenv("MESHC_INSTANCE_PLAN"))
	default:
		if data, err = conf.plan(); err != nil {
			return nil, err
		}
	}
	if len(data) == 0 {
		return nil, fmt.Errorf("no instance plan: pass -plan FILE, set MESHC_INSTANCE_PLAN_FILE or MESHC_INSTANCE_PLAN, or give it as %q in the -instance-conf userConfig", UserConfigPlanKey)
	}
	return plan.DecodeInstance(data)
}

// setIndex takes the replica index from $MESHC_INSTANCE_INDEX, else from
// the instance configuration, else leaves the plan's: a plan shared by all
// replicas (a Kubernetes ConfigMap) cannot hold each one's index.
func setIndex(in *plan.Instance, env string, conf InstanceConf) error {
	switch {
	case env != "":
		i, err := strconv.Atoi(env)
		if err != nil || i < 0 {
			return fmt.Errorf("MESHC_INSTANCE_INDEX=%q: want a replica index, 0 or more", env)
		}
		in.Index = i
	case conf.InstanceID != nil:
		in.Index = *conf.InstanceID
	}
	return nil
}

// pulsarURL is where the instance reaches Pulsar: -pulsar-url when given,
// else $MESHC_PULSAR_URL, else the instance configuration's, else a
// broker on this machine.
func pulsarURL(flag, env string, conf InstanceConf) string {
	for _, u := range []string{flag, env, conf.PulsarServiceURL} {
		if u != "" {
			return u
		}
	}
	return defaultPulsarURL
}

const defaultPulsarURL = "pulsar://127.0.0.1:6650"

// Pulsar's client authentication plugins, as a Functions worker names
// them in the Go instance configuration (short names too, as
// pulsar-client-go takes them).
var (
	authPluginToken  = []string{"org.apache.pulsar.client.impl.auth.AuthenticationToken", "token"}
	authPluginTLS    = []string{"org.apache.pulsar.client.impl.auth.AuthenticationTls", "tls"}
	authPluginOAuth2 = []string{"org.apache.pulsar.client.impl.auth.oauth2.AuthenticationOAuth2", "oauth2"}
)

// connection completes how the instance reaches Pulsar with what the
// instance configuration says, where the environment says nothing: the
// CAs to trust (tlsTrustCertsFilePath) and the way to authenticate
// (clientAuthenticationPlugin and its parameters, as a secured Pulsar
// worker passes them). Credentials are taken as files only: a token
// written into the parameters is refused, as meshc keeps secrets out of
// command lines.
func (c InstanceConf) connection(env Connection) (Connection, error) {
	if env.TrustCertsFile == "" {
		env.TrustCertsFile = c.TLSTrustCertsFilePath
	}
	if c.ClientAuthenticationPlugin == "" || env.TokenFile != "" || env.CredentialsFile != "" || env.CertFile != "" {
		return env, nil
	}
	m, err := AuthParams(c.ClientAuthenticationParameters)
	if err != nil {
		return env, fmt.Errorf("-instance-conf: clientAuthenticationParameters: %w", err)
	}
	switch p := c.ClientAuthenticationPlugin; {
	case slices.Contains(authPluginToken, p):
		if m["file"] == "" {
			return env, fmt.Errorf("-instance-conf: clientAuthenticationParameters of %s must name a token file (file:///PATH); a token in the configuration would show on the command line", p)
		}
		env.TokenFile = m["file"]
	case slices.Contains(authPluginTLS, p):
		env.CertFile, env.KeyFile = m["tlsCertFile"], m["tlsKeyFile"]
	case slices.Contains(authPluginOAuth2, p):
		env.IssuerURL, env.CredentialsFile, env.Audience, env.Scope = m["issuerUrl"], m["privateKey"], m["audience"], m["scope"]
	default:
		return env, fmt.Errorf("-instance-conf: clientAuthenticationPlugin %q is not one meshc runs with: use token, TLS or OAuth2 authentication", p)
	}
	return env, nil
}

// AuthParams reads authentication parameters in each form Pulsar's
// configuration writes them: a token as file:///PATH or token:TOKEN,
// KEY:VALUE pairs separated by commas (TLS's tlsCertFile and tlsKeyFile),
// or a JSON object (OAuth2's issuerUrl, privateKey, audience, scope). The
// keys are those of pulsar-client-go's providers.
func AuthParams(params string) (map[string]string, error) {
	p := strings.TrimSpace(params)
	m := map[string]string{}
	switch {
	case p == "":
	case strings.HasPrefix(p, "{"):
		var raw map[string]any
		if err := json.Unmarshal([]byte(p), &raw); err != nil {
			return nil, fmt.Errorf("not a JSON object of parameters: %w", err)
		}
		for k, v := range raw {
			m[k] = fmt.Sprint(v)
		}
	case strings.HasPrefix(p, fileURLPrefix):
		m["file"] = strings.TrimPrefix(p, fileURLPrefix)
	case strings.HasPrefix(p, "token:"):
		m["token"] = strings.TrimPrefix(p, "token:")
	default:
		for kv := range strings.SplitSeq(p, ",") {
			k, v, ok := strings.Cut(strings.TrimSpace(kv), ":")
			if !ok {
				return nil, fmt.Errorf("%q: want file:///PATH, token:TOKEN, KEY:VALUE,... or a JSON object", params)
			}
			m[k] = v
		}
	}
	return m, nil
}
