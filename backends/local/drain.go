package local

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"strings"
	"time"

	"github.com/meshc/meshc/planner/plan"
)

// waitDrained waits until every message in a component's inputs is read
// and acknowledged, as the Pulsar admin API reports its subscription, or
// until ctx is done. Pattern inputs are not waited for.
func (m *Mesh) waitDrained(ctx context.Context, c *plan.Component) {
	if m.opts.AdminURL == "" || len(c.Inputs) == 0 {
		return
	}
	var failing time.Time // since when the admin API fails
	for {
		left, err := m.backlog(ctx, c)
		if err == nil && left == 0 {
			return
		}
		switch {
		case err == nil:
			failing = time.Time{}
		case failing.IsZero():
			failing = time.Now()
		case time.Since(failing) > 5*time.Second:
			m.opts.Logger.Warn("cannot tell whether its inputs are drained; stopping it anyway", "component", c.Name, "error", err)
			return
		}
		select {
		case <-ctx.Done():
			m.opts.Logger.Warn("stopping before its inputs are drained", "component", c.Name, "left", left)
			return
		case <-time.After(100 * time.Millisecond):
		}
	}
}

// backlog counts the messages of a component's inputs that its
// subscription has not acknowledged yet.
func (m *Mesh) backlog(ctx context.Context, c *plan.Component) (int64, error) {
	var total int64
	for _, in := range c.Inputs {
		if in.Pattern {
			continue
		}
		st, err := m.topicStats(ctx, in.Topic)
		if err != nil {
			return 0, err
		}
		if sub, ok := st.Subscriptions[c.Subscription.Name]; ok {
			total += sub.MsgBacklog + sub.UnackedMessages
		}
	}
	return total, nil
}

type topicStats struct {
	MsgInCounter  int64 `json:"msgInCounter"`
	Subscriptions map[string]struct {
		MsgBacklog      int64 `json:"msgBacklog"`
		UnackedMessages int64 `json:"unackedMessages"`
	} `json:"subscriptions"`
}

// topicStats reads a topic's stats from the admin API; a partitioned
// topic's are summed over its partitions.
func (m *Mesh) topicStats(ctx context.Context, fqn string) (topicStats, error) {
	var st topicStats
	domain, rest, ok := strings.Cut(fqn, "://")
	if !ok {
		return st, fmt.Errorf("topic %q is not a full name", fqn)
	}
	endpoint := "/stats"
	if m.partitions(fqn) > 0 {
		endpoint = "/partitioned-stats"
	}
	url := strings.TrimRight(m.opts.AdminURL, "/") + "/admin/v2/" + domain + "/" + rest + endpoint
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	if err != nil {
		return st, err
	}
	resp, err := m.admin.Do(req)
	if err != nil {
		return st, err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return st, fmt.Errorf("GET %s: %s", url, resp.Status)
	}
	return st, json.NewDecoder(resp.Body).Decode(&st)
}

func (m *Mesh) partitions(fqn string) int {
	for _, t := range m.plan.Topics {
		if t.FQN == fqn {
			return t.Partitions
		}
	}
	return 0
}
