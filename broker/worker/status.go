package worker

import (
	"fmt"
	"net/http"
	"sync"

	"github.com/apache/pulsar-client-go/pulsaradmin/pkg/utils"
	dto "github.com/prometheus/client_model/go"
	"github.com/prometheus/common/expfmt"
	"github.com/prometheus/common/model"
)

// The instance metrics status and stats are made of (runtime/metrics.go).
const (
	metricReceived    = "pulsar_function_received_total"
	metricProcessed   = "pulsar_function_processed_successfully_total"
	metricSystemError = "pulsar_function_system_exceptions_total"
	metricUserError   = "pulsar_function_user_exceptions_total"
	metricLatency     = "pulsar_function_process_latency_ms"
	metricLastInvoked = "pulsar_function_last_invocation"
	metricUser        = "pulsar_function_user_metric_"
)

// instanceMetrics is what one look at an instance's /metrics found.
type instanceMetrics struct {
	received, processed, systemErrors, userErrors int64
	avgLatency                                    float64
	lastInvocation                                int64
	user                                          map[string]float64
}

// snapshot is what status and stats need of the instances of a function,
// taken under the worker's lock so that probing happens outside it.
type snapshot struct {
	parallelism int
	instances   []*instance // nil where stopped
}

func (w *Worker) snapshot(tenant, namespace, name string) (snapshot, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	f, err := w.lookup(tenant, namespace, name)
	if err != nil {
		return snapshot{}, err
	}
	return snapshot{parallelism: len(f.instances), instances: slicesClone(f.instances)}, nil
}

func slicesClone(in []*instance) []*instance { return append([]*instance(nil), in...) }

// status is Pulsar's FunctionStatus of a function: an instance runs when
// its process is up and its /readyz says it takes messages.
func (w *Worker) status(tenant, namespace, name string) (utils.FunctionStatus, error) {
	s, err := w.snapshot(tenant, namespace, name)
	if err != nil {
		return utils.FunctionStatus{}, err
	}
	out := utils.FunctionStatus{NumInstances: s.parallelism, Instances: make([]utils.FunctionInstanceStatus, s.parallelism)}
	var wg sync.WaitGroup
	for id, in := range s.instances {
		wg.Go(func() { out.Instances[id] = utils.FunctionInstanceStatus{InstanceID: id, Status: w.instanceStatus(in)} })
	}
	wg.Wait()
	for _, is := range out.Instances {
		if is.Status.Running {
			out.NumRunning++
		}
	}
	return out, nil
}

// instanceStatusOf is one instance's status, or 404.
func (w *Worker) instanceStatusOf(tenant, namespace, name string, id int) (utils.FunctionInstanceStatusData, error) {
	s, err := w.snapshot(tenant, namespace, name)
	if err != nil {
		return utils.FunctionInstanceStatusData{}, err
	}
	if id >= s.parallelism {
		return utils.FunctionInstanceStatusData{}, fail(errNotFound, nil, fmt.Sprintf("Function instance %d of %s doesn't exist", id, name))
	}
	return w.instanceStatus(s.instances[id]), nil
}

func (w *Worker) instanceStatus(in *instance) utils.FunctionInstanceStatusData {
	st := utils.FunctionInstanceStatusData{WorkerID: w.workerID(), LatestUserExceptions: []utils.ExceptionInformation{},
		LatestSystemExceptions: []utils.ExceptionInformation{}}
	if in == nil {
		st.Err = "stopped"
		return st
	}
	up, lastErr := in.alive()
	in.mu.Lock()
	st.NumRestarts = in.restarts
	in.mu.Unlock()
	switch {
	case !up:
		st.Err = lastErr
		if st.Err == "" {
			st.Err = "starting"
		}
		return st
	}
	if err := in.ready(w.probe); err != nil {
		st.Err = err.Error()
	} else {
		st.Running = true
	}
	if m, err := w.scrape(in); err == nil {
		st.NumReceived, st.NumSuccessfullyProcessed = m.received, m.processed
		st.NumUserExceptions, st.NumSystemExceptions = m.userErrors, m.systemErrors
		st.AverageLatency, st.LastInvocationTime = m.avgLatency, m.lastInvocation
	}
	return st
}

// workerID names this worker as Pulsar's status does.
func (w *Worker) workerID() string { return "meshc-" + w.opts.ClusterName }

// stats is Pulsar's FunctionStats of a function, summed over its
// instances. The one-minute figures are the totals: meshrt keeps no
// one-minute windows.
func (w *Worker) stats(tenant, namespace, name string) (utils.FunctionStats, error) {
	s, err := w.snapshot(tenant, namespace, name)
	if err != nil {
		return utils.FunctionStats{}, err
	}
	out := utils.FunctionStats{Instances: make([]utils.FunctionInstanceStats, s.parallelism)}
	var wg sync.WaitGroup
	for id, in := range s.instances {
		wg.Go(func() {
			out.Instances[id] = utils.FunctionInstanceStats{InstanceID: int64(id), Metrics: w.instanceStats(in)}
		})
	}
	wg.Wait()
	return *out.CalculateOverall(), nil
}

func (w *Worker) instanceStatsOf(tenant, namespace, name string, id int) (utils.FunctionInstanceStatsData, error) {
	s, err := w.snapshot(tenant, namespace, name)
	if err != nil {
		return utils.FunctionInstanceStatsData{}, err
	}
	if id >= s.parallelism {
		return utils.FunctionInstanceStatsData{}, fail(errNotFound, nil, fmt.Sprintf("Function instance %d of %s doesn't exist", id, name))
	}
	return w.instanceStats(s.instances[id]), nil
}

func (w *Worker) instanceStats(in *instance) utils.FunctionInstanceStatsData {
	st := utils.FunctionInstanceStatsData{UserMetrics: map[string]float64{}}
	if in == nil {
		return st
	}
	m, err := w.scrape(in)
	if err != nil {
		return st
	}
	base := utils.FunctionInstanceStatsDataBase{ReceivedTotal: m.received, ProcessedSuccessfullyTotal: m.processed,
		SystemExceptionsTotal: m.systemErrors, UserExceptionsTotal: m.userErrors, AvgProcessLatency: m.avgLatency}
	st.FunctionInstanceStatsDataBase, st.OneMin = base, base
	st.LastInvocation, st.UserMetrics = m.lastInvocation, m.user
	return st
}

// scrape reads an instance's /metrics.
func (w *Worker) scrape(in *instance) (instanceMetrics, error) {
	resp, err := w.probe.Get(fmt.Sprintf("http://127.0.0.1:%d/metrics", in.port()))
	if err != nil {
		return instanceMetrics{}, err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return instanceMetrics{}, fmt.Errorf("metrics: %s", resp.Status)
	}
	parser := expfmt.NewTextParser(model.UTF8Validation)
	families, err := parser.TextToMetricFamilies(resp.Body)
	if err != nil {
		return instanceMetrics{}, err
	}
	return fromFamilies(families), nil
}

func fromFamilies(families map[string]*dto.MetricFamily) instanceMetrics {
	value := func(name string) float64 {
		f := families[name]
		if f == nil || len(f.Metric) == 0 {
			return 0
		}
		m := f.Metric[0]
		switch {
		case m.Counter != nil:
			return m.Counter.GetValue()
		case m.Gauge != nil:
			return m.Gauge.GetValue()
		}
		return 0
	}
	m := instanceMetrics{received: int64(value(metricReceived)), processed: int64(value(metricProcessed)),
		systemErrors: int64(value(metricSystemError)), userErrors: int64(value(metricUserError)),
		lastInvocation: int64(value(metricLastInvoked)), user: map[string]float64{}}
	if f := families[metricLatency]; f != nil && len(f.Metric) > 0 && f.Metric[0].Summary != nil {
		if s := f.Metric[0].Summary; s.GetSampleCount() > 0 {
			m.avgLatency = s.GetSampleSum() / float64(s.GetSampleCount())
		}
	}
	if f := families[metricUser]; f != nil {
		for _, um := range f.Metric {
			for _, l := range um.Label {
				if l.GetName() == "metric" && um.Summary != nil && um.Summary.GetSampleCount() > 0 {
					m.user[l.GetValue()] = um.Summary.GetSampleSum() / float64(um.Summary.GetSampleCount())
				}
			}
		}
	}
	return m
}
