package runtime

import (
	"encoding/json"
	"fmt"
	"strconv"

	"github.com/meshc/meshc/planner/plan"
)

// UserConfigPlanKey is the key of a function's user configuration that
// may hold its instance plan, where nothing else can carry it: the plan's
// JSON object, or a string of it.
const UserConfigPlanKey = "meshc.plan"

// instanceConf is what meshc reads of Pulsar's Go instance configuration,
// the JSON that Pulsar's Functions worker and the Function Mesh operator
// pass to a Go function with -instance-conf (Pulsar's
// pulsar-function-go/conf.Conf; the operator's copy has the same names).
// The rest of it (topics, guarantees, retries) repeats what the instance
// plan says, and the plan is what the instance follows.
type instanceConf struct {
	PulsarServiceURL string `json:"pulsarServiceURL"`
	InstanceID       *int   `json:"instanceID"`
	Tenant           string `json:"tenant"`
	Namespace        string `json:"nameSpace"`
	Name             string `json:"name"`
	// UserConfig is a JSON object encoded as a string.
	UserConfig string `json:"userConfig"`
}

// parseInstanceConf reads -instance-conf; "" is no configuration.
func parseInstanceConf(s string) (instanceConf, error) {
	var c instanceConf
	if s == "" {
		return c, nil
	}
	if err := json.Unmarshal([]byte(s), &c); err != nil {
		return instanceConf{}, fmt.Errorf("-instance-conf is not Pulsar's Go instance configuration: %w", err)
	}
	if c.InstanceID != nil && *c.InstanceID < 0 {
		return instanceConf{}, fmt.Errorf("-instance-conf: instanceID %d: want a replica index, 0 or more", *c.InstanceID)
	}
	return c, nil
}

// plan is the instance plan the user configuration carries, or nil.
func (c instanceConf) plan() ([]byte, error) {
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
func loadInstance(file string, getenv func(string) string, readFile func(string) ([]byte, error), conf instanceConf) (*plan.Instance, error) {
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
func setIndex(in *plan.Instance, env string, conf instanceConf) error {
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
func pulsarURL(flag, env string, conf instanceConf) string {
	for _, u := range []string{flag, env, conf.PulsarServiceURL} {
		if u != "" {
			return u
		}
	}
	return defaultPulsarURL
}

const defaultPulsarURL = "pulsar://127.0.0.1:6650"
