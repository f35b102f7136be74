package worker

import (
	"encoding/json"
	"sort"
	"strconv"

	"github.com/apache/pulsar-client-go/pulsaradmin/pkg/utils"

	"github.com/meshc/meshc/runtime"
)

// Pulsar's names of processing guarantees and subscription positions in
// a FunctionConfig.
const (
	atLeastOnce     = "ATLEAST_ONCE"
	atMostOnce      = "ATMOST_ONCE"
	effectivelyOnce = "EFFECTIVELY_ONCE"
	manual          = "MANUAL"
	earliest        = "Earliest"
)

// Pulsar's FunctionDetails numbers of subscription types.
const (
	subShared    = 0
	subFailover  = 1
	subKeyShared = 2
)

// Pulsar's defaults for what a FunctionConfig leaves out.
const (
	defaultMaxBufTuples = 1024
	defaultCPU          = 1
	defaultRAM          = 1 << 30
	defaultDisk         = 10 << 30
)

var guaranteeNumber = map[string]int32{
	atLeastOnce: runtime.GuaranteeAtLeastOnce, atMostOnce: runtime.GuaranteeAtMostOnce,
	effectivelyOnce: runtime.GuaranteeEffectivelyOnce, manual: runtime.GuaranteeManual,
}

// instanceConf is the Go instance configuration Pulsar's process runtime
// gives instance id of the function r (RuntimeUtils.getGoInstanceCmd).
func instanceConf(r *record, id int, serviceURL, cluster string, port, metricsPort int) runtime.InstanceConf {
	fc := &r.Config
	c := runtime.InstanceConf{
		PulsarServiceURL: serviceURL, InstanceID: &id, FuncID: r.FunctionID, FuncVersion: strconv.FormatInt(r.Version, 10),
		MaxBufTuples: defaultMaxBufTuples, Port: port, ClusterName: cluster,
		Tenant: fc.Tenant, Namespace: fc.Namespace, Name: fc.Name, LogTopic: fc.LogTopic,
		ProcessingGuarantees: guaranteeNumber[fc.ProcessingGuarantees], Runtime: runtime.RuntimeGo,
		AutoAck: fc.AutoAck, Parallelism: int32(fc.Parallelism), SubscriptionType: subscriptionType(fc),
		SubscriptionName: fc.SubName, CleanupSubscription: fc.CleanupSubscription,
		SinkSpecTopic: fc.Output, SinkSchemaType: fc.OutputSchemaType,
		CPU: defaultCPU, RAM: defaultRAM, Disk: defaultDisk,
		DeadLetterTopic: fc.DeadLetterTopic, MetricsPort: metricsPort,
	}
	if fc.TimeoutMs != nil {
		c.TimeoutMs = uint64(*fc.TimeoutMs)
	}
	if fc.SubscriptionPosition == earliest {
		c.SubscriptionPosition = runtime.PositionEarliest
	}
	if fc.MaxMessageRetries != nil {
		c.MaxMessageRetries = int32(*fc.MaxMessageRetries)
	}
	if res := fc.Resources; res != nil {
		c.CPU, c.RAM, c.Disk = res.CPU, res.RAM, res.Disk
	}
	if len(fc.UserConfig) > 0 {
		data, _ := json.Marshal(fc.UserConfig)
		c.UserConfig = string(data)
	}
	if len(fc.Secrets) > 0 {
		data, _ := json.Marshal(fc.Secrets)
		c.SecretsMap = string(data)
	}
	specs := inputSpecs(fc)
	c.SourceInputSpecs = map[string]string{}
	for _, topic := range sortedTopics(specs) {
		spec := specs[topic]
		data, _ := json.Marshal(spec)
		c.SourceInputSpecs[topic] = string(data)
		// Pulsar's worker writes each input in turn here: the last one stays.
		c.SourceSpecTopic, c.SourceSchemaType = topic, spec.SchemaType
		c.IsRegexPatternSubscription, c.ReceiverQueueSize = spec.RegexPattern, int32(spec.ReceiverQueueSize)
	}
	return c
}

// subscriptionType is the type Pulsar's worker subscribes a function's
// inputs with: Failover to keep order (and for effectively-once),
// Key_Shared to keep each key's order, else Shared.
func subscriptionType(fc *utils.FunctionConfig) int32 {
	switch {
	case fc.RetainOrdering || fc.ProcessingGuarantees == effectivelyOnce:
		return subFailover
	case fc.RetainKeyOrdering:
		return subKeyShared
	}
	return subShared
}

// inputSpecs gathers every input of a FunctionConfig into one map, as
// Pulsar's FunctionConfigUtils does: inputs, the topics pattern, custom
// serde and schema inputs, and the input specs.
func inputSpecs(fc *utils.FunctionConfig) map[string]utils.ConsumerConfig {
	specs := map[string]utils.ConsumerConfig{}
	for _, t := range fc.Inputs {
		specs[t] = utils.ConsumerConfig{}
	}
	if fc.TopicsPattern != nil && *fc.TopicsPattern != "" {
		specs[*fc.TopicsPattern] = utils.ConsumerConfig{RegexPattern: true}
	}
	for t, serde := range fc.CustomSerdeInputs {
		specs[t] = utils.ConsumerConfig{SerdeClassName: serde}
	}
	for t, schema := range fc.CustomSchemaInputs {
		specs[t] = utils.ConsumerConfig{SchemaType: schema}
	}
	for t, spec := range fc.InputSpecs {
		specs[t] = spec
	}
	return specs
}

func sortedTopics(m map[string]utils.ConsumerConfig) []string {
	out := make([]string, 0, len(m))
	for t := range m {
		out = append(out, t)
	}
	sort.Strings(out)
	return out
}
