package runtime

import (
	"cmp"
	"context"
	"flag"
	"log/slog"
	"os"
	"os/signal"
	"syscall"
	"time"

	"github.com/meshc/meshc/planner/plan"
	"github.com/meshc/meshc/runtime/podshell"
)

// Main is the whole program of an instance binary: it reads its instance
// plan (see loadInstance), connects to Pulsar (see pulsarURL), and runs
// until SIGINT or SIGTERM. A source that has produced everything stays up,
// idle, unless $MESHC_SOURCE_DONE is "exit", as meshc run sets it.
//
// Pulsar's Functions worker and the Function Mesh operator start a Go
// function with -instance-conf, Pulsar's Go instance configuration: its
// instanceID is the replica index, its pulsarServiceURL the broker, and
// its userConfig may carry the plan (UserConfigPlanKey), and without
// -listen it serves /metrics on its metricsPort.
// Users add their own functions to a registry and call Main with it:
//
//	func main() {
//		runtime.Main(runtime.Builtins().Func("Enrich", runtime.Typed(enrich)))
//	}
//
// Called by the name of a command of runtime/podshell (bash, sh, ls,
// chmod: an image links them to the binary), it is that command instead.
func Main(reg *Registry) {
	if podshell.Tool(os.Args[0]) {
		os.Exit(podshell.Run(os.Args[0], os.Args[1:], os.Stdin, os.Stdout, os.Stderr))
	}
	fs := flag.NewFlagSet(os.Args[0], flag.ExitOnError)
	planFile := fs.String("plan", "", "instance plan file (default: $MESHC_INSTANCE_PLAN_FILE, or $MESHC_INSTANCE_PLAN holds the JSON)")
	url := fs.String("pulsar-url", "", "Pulsar service URL (default: $MESHC_PULSAR_URL, else the -instance-conf's, else "+defaultPulsarURL+")")
	listen := fs.String("listen", os.Getenv("MESHC_LISTEN"), "address for /metrics and /healthz (empty: none)")
	confJSON := fs.String("instance-conf", "", "Pulsar's Go instance configuration (JSON), as its Functions worker and the Function Mesh operator pass it")
	grace := fs.Duration("grace-period", envDuration("MESHC_GRACE_PERIOD", DefaultGracePeriod), "on SIGTERM, how long to wait for messages in flight")
	fs.Parse(os.Args[1:])

	log := slog.New(slog.NewTextHandler(os.Stderr, nil))
	in, conf, err := startup(*planFile, *confJSON)
	if err != nil {
		log.Error("cannot start", "error", err)
		os.Exit(2)
	}
	pulsar := pulsarURL(*url, os.Getenv("MESHC_PULSAR_URL"), conf)
	conn, err := conf.connection(ConnectionFromEnv(pulsar))
	if err != nil {
		log.Error("cannot start", "error", err)
		os.Exit(2)
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	go func() {
		// Closing waits on the broker; an unreachable one must not keep the
		// instance past its grace period and the scheduler's SIGKILL.
		<-ctx.Done()
		time.Sleep(*grace + 2*time.Second)
		log.Error("did not stop within the grace period; exiting", "grace", *grace)
		os.Exit(1)
	}()
	err = Run(ctx, Options{Plan: in, PulsarURL: pulsar, Connection: conn, Registry: reg, Logger: log, Listen: conf.listen(*listen),
		StayWhenDone: os.Getenv("MESHC_SOURCE_DONE") != "exit", GracePeriod: *grace,
		Cluster: cmp.Or(os.Getenv("MESHC_CLUSTER"), conf.ClusterName), MetricsFile: os.Getenv("MESHC_METRICS_FILE")})
	if err != nil {
		log.Error("instance failed", "error", err)
		os.Exit(1)
	}
}

// startup reads the instance configuration and the plan, and sets the
// replica index.
func startup(planFile, confJSON string) (*plan.Instance, InstanceConf, error) {
	conf, err := parseInstanceConf(confJSON)
	if err != nil {
		return nil, conf, err
	}
	in, err := loadInstance(planFile, os.Getenv, os.ReadFile, conf)
	if err != nil {
		return nil, conf, err
	}
	return in, conf, setIndex(in, os.Getenv("MESHC_INSTANCE_INDEX"), conf)
}

// envDuration reads a duration from the environment; a value that does not
// parse keeps the default, and the flag's help shows which is used.
func envDuration(key string, def time.Duration) time.Duration {
	if d, err := time.ParseDuration(os.Getenv(key)); err == nil {
		return d
	}
	return def
}
