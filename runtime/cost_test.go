package runtime

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"os/signal"
	"runtime/pprof"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/apache/pulsar-client-go/pulsar"
	pulsarlog "github.com/apache/pulsar-client-go/pulsar/log"

	"github.com/meshc/meshc/broker"
	"github.com/meshc/meshc/internal/brokertest"
	"github.com/meshc/meshc/planner/plan"
)

// BenchmarkInstanceCost runs the bare pulsar-client-go loop (receive, send,
// acknowledge once the send is confirmed), the identity function
// at_least_once and the identity function effectively_once each as a
// process of its own against one embedded broker, in turns, and reports
// what each process spent per message (its user and system CPU, from
// getrusage of the child) and messages per second, as ratios to the bare
// loop. A process's start and stop are measured apart, on one message,
// and taken off. MESHC_COST_MESSAGES sets the messages a pass (default
// 50000), MESHC_COST_ROUNDS the rounds (default 2),
// MESHC_COST_CPUPROFILE a directory for the instances' CPU profiles, and
// MESHC_COST_BASELINE another build of this test binary (go test -c), whose
// instances run in the same rounds as this one's, each build going first
// in every other round: a change's before and after, measured under the
// same load, with the ratio of each round and their median.
func BenchmarkInstanceCost(b *testing.B) {
	n := envInt("MESHC_COST_MESSAGES", 50000, 2)
	rounds := envInt("MESHC_COST_ROUNDS", 2, 1)
	br := brokertest.Start(b, broker.Config{})
	c := brokertest.Client(b, br.URL())
	for range b.N {
		var sum, base [3]costFigure
		var ratios, againstBase []float64 // each round's at_least_once CPU to the bare loop's, and to the baseline's
		baseline := os.Getenv("MESHC_COST_BASELINE")
		for r := range rounds {
			var fig, old [3]costFigure
			for i, side := range costSides {
				// The builds take turns going first: a pass can find the
				// broker busier than the pass after it.
				baseFirst := baseline != "" && side != "bare" && r%2 == 1
				if baseFirst {
					old[i] = costOf(b, br, c, baseline, side, n)
				}
				fig[i] = costOf(b, br, c, os.Args[0], side, n)
				sum[i].add(fig[i], rounds)
				switch {
				case baseline == "":
				case side == "bare": // the same loop in either build
					old[i] = fig[i]
				case !baseFirst:
					old[i] = costOf(b, br, c, baseline, side, n)
				}
				if baseline != "" {
					base[i].add(old[i], rounds)
				}
			}
			b.Logf("round %d: %s", r+1, costLine(fig))
			ratios = append(ratios, float64(fig[1].cpu)/float64(fig[0].cpu))
			if baseline != "" {
				againstBase = append(againstBase, float64(fig[1].cpu)/float64(old[1].cpu))
				b.Logf("round %d, baseline: %s; at_least_once cpu this build / baseline %.2fx", r+1, costLine(old), againstBase[r])
			}
		}
		b.Logf("mean: %s", costLine(sum))
		b.Logf("goals (CPU per message, ratio at most): at_least_once/bare %.2f (goal %.2f), effectively_once/at_least_once %.2f (goal %.2f)",
			float64(sum[1].cpu)/float64(sum[0].cpu), costGoalAtLeastOnce, float64(sum[2].cpu)/float64(sum[1].cpu), costGoalEffectivelyOnce)
		// A round's figures move with the machine's load: a median of the
		// rounds' ratios beside the ratio of the means shows how far.
		b.Logf("at_least_once/bare per round: median %.2f, %.2f to %.2f", median(ratios), slices.Min(ratios), slices.Max(ratios))
		if baseline != "" {
			b.Logf("mean, baseline: %s", costLine(base))
			b.Logf("this build / baseline: at_least_once cpu %.2fx (per round: median %.2fx, %.2fx to %.2fx), effectively_once cpu %.2fx",
				float64(sum[1].cpu)/float64(base[1].cpu), median(againstBase), slices.Min(againstBase), slices.Max(againstBase),
				float64(sum[2].cpu)/float64(base[2].cpu))
		}
		b.ReportMetric(micros(sum[0].cpu), "bare-cpu-µs/msg")
		b.ReportMetric(micros(sum[1].cpu), "alo-cpu-µs/msg")
		b.ReportMetric(micros(sum[2].cpu), "eo-cpu-µs/msg")
		b.ReportMetric(float64(sum[1].cpu)/float64(sum[0].cpu), "alo/bare-cpu")
		b.ReportMetric(sum[1].rate/sum[0].rate, "alo/bare-msgs/s")
		b.ReportMetric(float64(sum[2].cpu)/float64(sum[1].cpu), "eo/alo-cpu")
		b.ReportMetric(median(ratios), "alo/bare-cpu-median")
		if baseline != "" {
			b.ReportMetric(float64(sum[1].cpu)/float64(base[1].cpu), "alo/baseline-cpu")
			b.ReportMetric(median(againstBase), "alo/baseline-cpu-median")
		}
	}
}

// The goals, from SPEC.md's performance section: an identity instance's
// CPU per message within 15% of the bare loop's at_least_once, and within
// twice that effectively_once.
const (
	costGoalAtLeastOnce     = 1.15
	costGoalEffectivelyOnce = 2.0
)

// costSides are the processes compared: the bare loop, then the identity
// function under two guarantees.
var costSides = []string{"bare", "at_least_once", "effectively_once"}

type costFigure struct {
	cpu  time.Duration // the side's process, per message
	rest time.Duration // this process (broker, producer, reader), per message
	rate float64       // messages per second
}

func (f *costFigure) add(g costFigure, rounds int) {
	f.cpu += g.cpu / time.Duration(rounds)
	f.rest += g.rest / time.Duration(rounds)
	f.rate += g.rate / float64(rounds)
}

func costLine(f [3]costFigure) string {
	return fmt.Sprintf("bare %.1f cpu-µs/msg %.0f msgs/s; at_least_once %.1f cpu-µs/msg %.0f msgs/s (cpu %.2fx, msgs/s %.2fx of bare); effectively_once %.1f cpu-µs/msg %.0f msgs/s (cpu %.2fx of at_least_once); broker and reader %.1f, %.1f, %.1f cpu-µs/msg",
		micros(f[0].cpu), f[0].rate, micros(f[1].cpu), f[1].rate, float64(f[1].cpu)/float64(f[0].cpu), f[1].rate/f[0].rate,
		micros(f[2].cpu), f[2].rate, float64(f[2].cpu)/float64(f[1].cpu), micros(f[0].rest), micros(f[1].rest), micros(f[2].rest))
}

func micros(d time.Duration) float64 { return float64(d) / float64(time.Microsecond) }

func median(xs []float64) float64 {
	xs = slices.Sorted(slices.Values(xs))
	if n := len(xs); n%2 == 0 {
		return (xs[n/2-1] + xs[n/2]) / 2
	}
	return xs[len(xs)/2]
}

// costOf is a side's CPU per message, its start and stop taken off, and
// its messages per second from its first output to its last; and what
// the broker and the reader spent meanwhile in this process.
func costOf(b *testing.B, br *broker.Broker, c pulsar.Client, binary, side string, n int) costFigure {
	fixed, _ := costPass(b, br, c, binary, side, 1, false)
	self := cpuTime()
	all, rate := costPass(b, br, c, binary, side, n, binary == os.Args[0])
	rest := cpuTime() - self
	return costFigure{cpu: (all - fixed) / time.Duration(n-1), rest: rest / time.Duration(n), rate: rate}
}

// costPass produces n messages, runs a side's process on them until every
// output is read, stops it, and returns the CPU it used.
func costPass(b *testing.B, br *broker.Broker, c pulsar.Client, binary, side string, n int, profile bool) (time.Duration, float64) {
	in, out := topic("cost-in"), topic("cost-out")
	p, err := c.CreateProducer(pulsar.ProducerOptions{Topic: in})
	if err != nil {
		b.Fatal(err)
	}
	ctx := context.Background()
	payload := []byte("a message of a realistic size for a benchmark of the runtime, about a hundred bytes long.....")
	for range n {
		p.SendAsync(ctx, &pulsar.ProducerMessage{Payload: payload}, func(pulsar.MessageID, *pulsar.ProducerMessage, error) {})
	}
	if err := p.FlushWithCtx(ctx); err != nil {
		b.Fatal(err)
	}
	p.Close()
	reader, err := c.Subscribe(pulsar.ConsumerOptions{Topic: out, SubscriptionName: "cost-reader",
		SubscriptionInitialPosition: pulsar.SubscriptionPositionEarliest, ReceiverQueueSize: 10000})
	if err != nil {
		b.Fatal(err)
	}
	defer reader.Close()
	cmd := costProcess(b, binary, br.URL(), side, in, out, profile)
	rctx, cancel := context.WithTimeout(ctx, 5*time.Minute)
	defer cancel()
	var first time.Time
	for i := range n {
		m, err := reader.Receive(rctx)
		if err != nil {
			cmd.Process.Kill()
			cmd.Wait()
			b.Fatalf("%s: read %d of %d outputs: %v", side, i, n, err)
		}
		if i == 0 {
			first = time.Now()
		}
		reader.AckID(m.ID())
	}
	rate := float64(n-1) / time.Since(first).Seconds()
	cmd.Process.Signal(syscall.SIGTERM)
	if err := cmd.Wait(); err != nil {
		b.Fatalf("%s: %v", side, err)
	}
	ru := cmd.ProcessState.SysUsage().(*syscall.Rusage)
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano()), rate
}

// costProcess starts the test binary as one side: the bare loop, or an
// instance of the identity function.
func costProcess(b *testing.B, binary, url, side, in, out string, profile bool) *exec.Cmd {
	cmd := exec.Command(binary)
	cmd.Stderr = os.Stderr
	cmd.Env = append(os.Environ(), "MESHC_PULSAR_URL="+url)
	if dir := os.Getenv("MESHC_COST_CPUPROFILE"); dir != "" && profile {
		cmd.Env = append(cmd.Env, "MESHC_CHILD_CPUPROFILE="+dir+"/"+side+".pprof")
	}
	if side == "bare" {
		cmd.Env = append(cmd.Env, "MESHC_BARE_LOOP="+in+" "+out)
	} else {
		f := function("id", "identity", in, out, str, str)
		if side == string(plan.EffectivelyOnce) {
			f = onceFunction("id", "identity", in, out)
		}
		data, err := json.Marshal(plan.Instance{APIVersion: plan.APIVersion, Mesh: plan.Mesh{Tenant: "public", Namespace: "default"}, Component: f})
		if err != nil {
			b.Fatal(err)
		}
		cmd.Env = append(cmd.Env, "MESHC_INSTANCE_PLAN="+string(data))
	}
	if err := cmd.Start(); err != nil {
		b.Fatal(err)
	}
	return cmd
}

// childProfile writes the CPU profile of a side's process while run runs.
func childProfile(run func()) {
	path := os.Getenv("MESHC_CHILD_CPUPROFILE")
	if path == "" {
		run()
		return
	}
	f, err := os.Create(path)
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(2)
	}
	defer f.Close()
	pprof.StartCPUProfile(f)
	defer pprof.StopCPUProfile()
	run()
}

// bareMain is the bare loop as a process, until SIGTERM: what an instance
// does at the least.
func bareMain(topics string) {
	in, out, _ := strings.Cut(topics, " ")
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGTERM)
	defer stop()
	c, err := pulsar.NewClient(pulsar.ClientOptions{URL: os.Getenv("MESHC_PULSAR_URL"), Logger: pulsarlog.NewLoggerWithSlog(quietLog)})
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(2)
	}
	defer c.Close()
	cons, err := c.Subscribe(pulsar.ConsumerOptions{Topic: in, SubscriptionName: "bare", Type: pulsar.Shared,
		SubscriptionInitialPosition: pulsar.SubscriptionPositionEarliest})
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(2)
	}
	defer cons.Close()
	prod, err := c.CreateProducer(pulsar.ProducerOptions{Topic: out})
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(2)
	}
	defer prod.Close()
	for {
		m, err := cons.Receive(ctx)
		if err != nil {
			return
		}
		prod.SendAsync(ctx, &pulsar.ProducerMessage{Payload: m.Payload()}, func(_ pulsar.MessageID, _ *pulsar.ProducerMessage, err error) {
			if err == nil {
				cons.Ack(m)
			}
		})
	}
}

// envInt reads a count of at least least from the environment.
func envInt(key string, def, least int) int {
	if n, err := strconv.Atoi(os.Getenv(key)); err == nil && n >= least {
		return n
	}
	return def
}
