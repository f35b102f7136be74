package worker

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"os"
	"strings"
	"time"

	"github.com/apache/pulsar-client-go/pulsar"
	"github.com/apache/pulsar-client-go/pulsar/auth"
	"github.com/apache/pulsar-client-go/pulsaradmin/pkg/utils"

	"github.com/meshc/meshc/runtime"
)

// Timing of the worker's own calls to the broker.
const (
	// triggerWait is how long trigger waits for the function's output, as
	// Pulsar's worker reads its output topic for up to ten seconds.
	triggerWait = 10 * time.Second
	// callTimeout bounds a state read or write and a subscription removal.
	callTimeout = 30 * time.Second
)

// Properties Pulsar's instances put on an output to name the input that
// caused it; trigger matches on them, or on meshc's trace property.
const (
	propInputTopic = "__pfn_input_topic__"
	propInputMsgID = "__pfn_input_msg_id__"
)

// pulsarClient is the worker's own client of the broker, made on first
// use.
func (w *Worker) pulsarClient() (pulsar.Client, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	if err := w.usable(); err != nil {
		return nil, err
	}
	if w.client != nil {
		return w.client, nil
	}
	opts := w.opts.Client
	opts.URL = w.serviceURL
	c, err := pulsar.NewClient(opts)
	if err != nil {
		return nil, fmt.Errorf("connecting the Functions worker to the broker: %w", err)
	}
	w.client = c
	return c, nil
}

// trigger sends data to an input of the function and returns what the
// function writes for it (Pulsar's triggerFunction): "" with no output
// topic, 408 when nothing comes in time.
func (w *Worker) trigger(ctx context.Context, tenant, namespace, name, topic string, data []byte) (string, bool, error) {
	fc, err := w.get(tenant, namespace, name)
	if err != nil {
		return "", false, err
	}
	specs := inputSpecs(&fc)
	if topic == "" {
		if len(specs) != 1 {
			return "", false, fail(errBadRequest, nil, "Function in trigger function has more than 1 input topics")
		}
		for t := range specs {
			topic = t
		}
	}
	if _, ok := specs[topic]; !ok {
		return "", false, fail(errBadRequest, nil, "Function in trigger function has unidentified topic")
	}
	client, err := w.pulsarClient()
	if err != nil {
		return "", false, err
	}
	ctx, cancel := context.WithTimeout(ctx, callTimeout+triggerWait)
	defer cancel()
	var reader pulsar.Reader
	if fc.Output != "" {
		reader, err = client.CreateReader(pulsar.ReaderOptions{Topic: fc.Output, StartMessageID: pulsar.LatestMessageID()})
		if err != nil {
			return "", false, fmt.Errorf("reading %s: %w", fc.Output, err)
		}
		defer reader.Close()
	}
	producer, err := client.CreateProducer(pulsar.ProducerOptions{Topic: topic})
	if err != nil {
		return "", false, fmt.Errorf("writing to %s: %w", topic, err)
	}
	trace := newID()
	id, err := producer.Send(ctx, &pulsar.ProducerMessage{Payload: data, Properties: map[string]string{runtime.TraceProperty: trace}})
	producer.Close()
	if err != nil {
		return "", false, fmt.Errorf("writing to %s: %w", topic, err)
	}
	if reader == nil {
		return "", false, nil
	}
	rctx, cancel := context.WithTimeout(ctx, triggerWait)
	defer cancel()
	sentID := base64.StdEncoding.EncodeToString(id.Serialize())
	for {
		msg, err := reader.Next(rctx)
		if err != nil {
			return "", false, fail(errTimeout, nil, "Request Timed Out")
		}
		p := msg.Properties()
		if p[runtime.TraceProperty] == trace || p[propInputMsgID] == sentID && sameTopic(p[propInputTopic], topic) {
			return string(msg.Payload()), true, nil
		}
	}
}

// sameTopic compares a full topic name with one that may be short.
func sameTopic(full, name string) bool {
	return full == name || strings.HasSuffix(full, "/"+name) && !strings.Contains(name, "/")
}

// stateOf reads one key of a function's state (Pulsar's getFunctionState):
// a counter as numberValue, a value as stringValue; 404 without the key.
func (w *Worker) stateOf(ctx context.Context, tenant, namespace, name, key string) (utils.FunctionState, error) {
	if _, err := w.get(tenant, namespace, name); err != nil {
		return utils.FunctionState{}, err
	}
	client, err := w.pulsarClient()
	if err != nil {
		return utils.FunctionState{}, err
	}
	ctx, cancel := context.WithTimeout(ctx, callTimeout)
	defer cancel()
	e, ok, err := runtime.QueryState(ctx, client, tenant, namespace, name, key)
	switch {
	case err != nil:
		return utils.FunctionState{}, fmt.Errorf("reading the state of %s: %w", name, err)
	case !ok:
		return utils.FunctionState{}, fail(errNotFound, nil, fmt.Sprintf("key '%s' doesn't exist.", key))
	case e.Counter:
		return utils.FunctionState{Key: key, NumValue: e.Number}, nil
	}
	return utils.FunctionState{Key: key, StringValue: string(e.Value)}, nil
}

// putState writes one key of a function's state (Pulsar's
// putFunctionState): a string or bytes value, else the number as a
// counter.
func (w *Worker) putState(ctx context.Context, tenant, namespace, name, key string, st utils.FunctionState) error {
	if st.Key != "" && st.Key != key {
		return fail(errBadRequest, nil, fmt.Sprintf("Key %q in the state does not match the key %q in the path", st.Key, key))
	}
	if _, err := w.get(tenant, namespace, name); err != nil {
		return err
	}
	client, err := w.pulsarClient()
	if err != nil {
		return err
	}
	e := runtime.StateEntry{Key: key}
	switch {
	case st.StringValue != "":
		e.Value = []byte(st.StringValue)
	case len(st.ByteValue) > 0:
		e.Value = st.ByteValue
	default:
		e.Counter, e.Number = true, st.NumValue
	}
	ctx, cancel := context.WithTimeout(ctx, callTimeout)
	defer cancel()
	return runtime.PutState(ctx, client, tenant, namespace, name, e)
}

// removeSubscriptions deletes the function's subscription on each of its
// input topics through the broker's admin API, as Pulsar's worker does
// when cleanupSubscription is set; topics that do not exist, or that have
// no such subscription, are skipped.
func (w *Worker) removeSubscriptions(ctx context.Context, r *record) error {
	sub := subscription(&r.Config)
	var errs []error
	for topic, spec := range inputSpecs(&r.Config) {
		if spec.RegexPattern {
			continue
		}
		path, err := topicPath(topic)
		if err != nil {
			errs = append(errs, err)
			continue
		}
		u := w.adminURL + "/admin/v2/" + path + "/subscription/" + url.PathEscape(sub) + "?force=true"
		rctx, cancel := context.WithTimeout(ctx, callTimeout)
		req, _ := http.NewRequestWithContext(rctx, http.MethodDelete, u, nil)
		resp, err := w.admin.Do(req)
		cancel()
		if err != nil {
			errs = append(errs, fmt.Errorf("removing subscription %s of %s: %w", sub, topic, err))
			continue
		}
		resp.Body.Close()
		if resp.StatusCode >= 300 && resp.StatusCode != http.StatusNotFound {
			errs = append(errs, fmt.Errorf("removing subscription %s of %s: %s", sub, topic, resp.Status))
		}
	}
	return errors.Join(errs...)
}

// topicPath is DOMAIN/TENANT/NAMESPACE/TOPIC of a topic name, short names
// being in public/default as Pulsar reads them.
func topicPath(topic string) (string, error) {
	tn, err := utils.GetTopicName(topic)
	if err != nil {
		return "", fmt.Errorf("input topic %q: %w", topic, err)
	}
	return tn.GetRestPath(), nil
}

// adminHTTP is an HTTP client of the broker's admin API that authenticates
// with the plugin and parameters, through pulsar-client-go's providers.
func adminHTTP(plugin, params, trustCerts string) (*http.Client, error) {
	params, err := goAuthParams(params)
	if err != nil {
		return nil, err
	}
	p, err := auth.NewProvider(plugin, params)
	if err != nil {
		return nil, fmt.Errorf("the Functions worker's authentication %s: %w", plugin, err)
	}
	tr := http.DefaultTransport.(*http.Transport).Clone()
	if trustCerts != "" {
		pem, err := os.ReadFile(trustCerts)
		if err != nil {
			return nil, fmt.Errorf("the Functions worker's trust certificates: %w", err)
		}
		pool := x509.NewCertPool()
		pool.AppendCertsFromPEM(pem)
		tr.TLSClientConfig = &tls.Config{RootCAs: pool}
	}
	if err := p.Init(); err != nil {
		return nil, fmt.Errorf("the Functions worker's authentication %s: %w", plugin, err)
	}
	if err := p.WithTransport(tr); err != nil {
		return nil, fmt.Errorf("the Functions worker's authentication %s: %w", plugin, err)
	}
	return &http.Client{Transport: p, Timeout: callTimeout}, nil
}

// goAuthParams turns authentication parameters as Pulsar's configuration
// writes them into the JSON pulsar-client-go's providers take.
func goAuthParams(params string) (string, error) {
	m, err := runtime.AuthParams(params)
	if err != nil {
		return "", err
	}
	data, err := json.Marshal(m)
	return string(data), err
}
