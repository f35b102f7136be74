package runtime

import (
	"context"
	"fmt"
	"os/exec"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/apache/pulsar-client-go/pulsar"

	"github.com/meshc/meshc/broker"
	"github.com/meshc/meshc/planner/plan"
)

// The word counts of these tests must come out exact: 20 words, 1,000
// messages each, keyed by word and batched as pulsar-client-go batches by
// default (several keys in a batch), counted by word_count in several
// instances; the final state is read back as `meshc querystate` reads it.

const (
	countWords   = 20
	countEach    = 1000
	countTotal   = countWords * countEach
	countReplays = 3 // SIGKILLs in a kill run
)

var countSchema = plan.Schema{Type: "json", Definition: `{"type":"record","name":"Count","fields":[{"name":"word","type":"string"},{"name":"count","type":"long"}]}`}

// wordRun is one counting run: its broker, topics, function and outputs.
type wordRun struct {
	t    *testing.T
	b    *broker.Broker
	url  string
	c    pulsar.Client
	in   string
	f    plan.Component
	seen *outputs
}

// newWordRun makes the topics (the input with the partitions given, none
// when 0) and a word_count function reading them with the subscription
// type and guarantee given.
func newWordRun(t *testing.T, sub string, g plan.Guarantee, partitions int, impl string) *wordRun {
	b := startBroker(t)
	c := client(t, b)
	in, out := topic("wc-in"), topic("wc-out")
	if partitions > 0 {
		if err := b.CreatePartitionedTopic(in, partitions); err != nil {
			t.Fatal(err)
		}
	}
	f := function(fmt.Sprintf("wc%d", topicSeq.Add(1)), "word_count", in, out, str, countSchema)
	f.State, f.Guarantee, f.Subscription.Type, f.Replicas = true, g, sub, plan.Replicas{Count: 3}
	if g == plan.EffectivelyOnce {
		f.MaxRetries = 0
	}
	if impl != "" {
		f.Implementation = plan.Implementation{Kind: "go", Name: impl}
	}
	return &wordRun{t: t, b: b, url: b.URL(), c: c, in: in, f: f, seen: countOutputs(t, c, out)}
}

// produce writes words [from, to) of every round, keyed by word, with
// pulsar-client-go's default batching.
func (r *wordRun) produce(from, to int) {
	p, err := r.c.CreateProducer(pulsar.ProducerOptions{Topic: r.in})
	if err != nil {
		r.t.Fatal(err)
	}
	defer p.Close()
	for i := from; i < to; i++ {
		for w := range countWords {
			word := fmt.Sprintf("word%02d", w)
			p.SendAsync(context.Background(), &pulsar.ProducerMessage{Payload: []byte(word), Key: word},
				func(_ pulsar.MessageID, _ *pulsar.ProducerMessage, err error) {
					if err != nil {
						r.t.Error(err)
					}
				})
		}
	}
	if err := p.FlushWithCtx(context.Background()); err != nil {
		r.t.Fatal(err)
	}
}

// totals reads every word's count from the function's state.
func (r *wordRun) totals() (sum int64, per map[string]int64) {
	per = map[string]int64{}
	for w := range countWords {
		word := fmt.Sprintf("word%02d", w)
		e, _, err := QueryState(context.Background(), r.c, "public", "default", r.f.Name, word)
		if err != nil {
			r.t.Fatal(err)
		}
		per[word] = e.Number
		sum += e.Number
	}
	return sum, per
}

// settle waits for one output per input, then for quiet, and returns the
// state's total.
func (r *wordRun) settle() (int64, map[string]int64) {
	waitFor(r.t, func() bool { return r.seen.total() >= countTotal })
	r.seen.quiet(time.Second)
	return r.totals()
}

// TestWordCountExactNoKills counts with two and three instances on
// key_shared and on failover subscriptions; the second and later instances
// join once half the words are in, so keys move while messages of them
// are unacknowledged.
func TestWordCountExactNoKills(t *testing.T) {
	for _, sub := range []string{"key_shared", "failover"} {
		for _, replicas := range []int{2, 3} {
			t.Run(fmt.Sprintf("%s/%d", sub, replicas), func(t *testing.T) {
				r := newWordRun(t, sub, plan.AtLeastOnce, 0, "")
				runInstance(t, r.b, r.f, Builtins())
				r.produce(0, countEach/2)
				for range replicas - 1 {
					runInstance(t, r.b, r.f, Builtins())
				}
				r.produce(countEach/2, countEach)
				sum, per := r.settle()
				t.Logf("%s, %d instances: counted %d of %d", sub, replicas, sum, countTotal)
				r.exact(sum, per)
			})
		}
	}
}

// exact fails unless every word was counted exactly countEach times.
func (r *wordRun) exact(sum int64, per map[string]int64) {
	r.t.Helper()
	if sum != countTotal {
		r.t.Errorf("counted %d, want %d: %v", sum, countTotal, per)
	}
}

// TestWordCountExactUnderKills kills instances with SIGKILL again and again
// while they count. Under effectively_once every count is exact and the
// output holds each word's counts 1..1000 once each; under at_least_once
// no count is below the truth.
func TestWordCountExactUnderKills(t *testing.T) {
	for _, tc := range []struct {
		g          plan.Guarantee
		sub        string
		partitions int
	}{
		{plan.EffectivelyOnce, "failover", 0},
		{plan.EffectivelyOnce, "failover", 2},
		{plan.AtLeastOnce, "key_shared", 0},
	} {
		t.Run(fmt.Sprintf("%s/%s/%d", tc.g, tc.sub, tc.partitions), func(t *testing.T) {
			t.Parallel() // the instances mostly sleep (SlowCount)
			r := newWordRun(t, tc.sub, tc.g, tc.partitions, "SlowCount")
			r.produce(0, countEach)
			procs := r.startProcesses(2)
			for k := range countReplays {
				waitFor(t, func() bool { return r.seen.total() >= (k+1)*countTotal/(countReplays+1) })
				procs.kill(k % 2)
			}
			sum, per := r.settle()
			dups := r.seen.total() - r.seen.distinct()
			t.Logf("%s on %s, %d partitions, %d kills: counted %d of %d; %d outputs written twice",
				tc.g, tc.sub, tc.partitions, countReplays, sum, countTotal, dups)
			if tc.g == plan.EffectivelyOnce {
				r.exact(sum, per)
				if r.seen.distinct() != countTotal || dups != 0 {
					r.t.Errorf("the output holds %d distinct counts and %d repeated, want %d and 0", r.seen.distinct(), dups, countTotal)
				}
			} else if sum < countTotal {
				t.Errorf("at_least_once counted %d, below the %d messages: %v", sum, countTotal, per)
			}
		})
	}
}

// processes are instance processes that a test kills and restarts.
type processes struct {
	r     *wordRun
	mu    sync.Mutex
	procs []*exec.Cmd
}

func (r *wordRun) startProcesses(n int) *processes {
	p := &processes{r: r}
	for range n {
		p.procs = append(p.procs, startProcess(r.t, r.url, r.f))
	}
	r.t.Cleanup(func() {
		p.mu.Lock()
		defer p.mu.Unlock()
		for _, c := range p.procs {
			c.Process.Signal(syscall.SIGTERM)
			c.Wait()
		}
	})
	return p
}

// kill SIGKILLs process i and starts another in its place.
func (p *processes) kill(i int) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.procs[i].Process.Signal(syscall.SIGKILL)
	p.procs[i].Wait()
	p.procs[i] = startProcess(p.r.t, p.r.url, p.r.f)
}
