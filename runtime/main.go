package runtime

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"log/slog"
	"os"
	"os/signal"
	"strconv"
	"syscall"
	"time"

	"github.com/meshc/meshc/planner/plan"
)

// Main is the whole program of an instance binary: it reads the instance
// plan named by -plan (or the JSON in $MESHC_INSTANCE_PLAN), connects to
// -pulsar-url (or $MESHC_PULSAR_URL), and runs until SIGINT or SIGTERM. A
// source that has produced everything stays up, idle, unless
// $MESHC_SOURCE_DONE is "exit", as meshc run sets it.
//
// The replica index is the plan's, unless $MESHC_INSTANCE_INDEX, or the
// instanceID of the -instance-conf that the Function Mesh operator passes
// to Go functions, says otherwise: a plan shared by all replicas (a
// Kubernetes ConfigMap) cannot hold each one's index.
// Users add their own functions to a registry and call Main with it:
//
//	func main() {
//		runtime.Main(runtime.Builtins().Func("Enrich", runtime.Typed(enrich)))
//	}
func Main(reg *Registry) {
	fs := flag.NewFlagSet(os.Args[0], flag.ExitOnError)
	planFile := fs.String("plan", "", "instance plan file (default: $MESHC_INSTANCE_PLAN holds the JSON)")
	url := fs.String("pulsar-url", envOr("MESHC_PULSAR_URL", "pulsar://127.0.0.1:6650"), "Pulsar service URL")
	listen := fs.String("listen", os.Getenv("MESHC_LISTEN"), "address for /metrics and /healthz (empty: none)")
	operatorConf := fs.String("instance-conf", "", "the Function Mesh operator's instance configuration (JSON); its instanceID is the replica index")
	grace := fs.Duration("grace-period", envDuration("MESHC_GRACE_PERIOD", DefaultGracePeriod), "on SIGTERM, how long to wait for messages in flight")
	fs.Parse(os.Args[1:])

	log := slog.New(slog.NewTextHandler(os.Stderr, nil))
	in, err := loadInstance(*planFile)
	if err == nil {
		err = setIndex(in, os.Getenv("MESHC_INSTANCE_INDEX"), *operatorConf)
	}
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
	err = Run(ctx, Options{Plan: in, PulsarURL: *url, Connection: ConnectionFromEnv(*url), Registry: reg, Logger: log, Listen: *listen,
		StayWhenDone: os.Getenv("MESHC_SOURCE_DONE") != "exit", GracePeriod: *grace,
		Cluster: os.Getenv("MESHC_CLUSTER"), MetricsFile: os.Getenv("MESHC_METRICS_FILE")})
	if err != nil {
		log.Error("instance failed", "error", err)
		os.Exit(1)
	}
}

func loadInstance(file string) (*plan.Instance, error) {
	data := []byte(os.Getenv("MESHC_INSTANCE_PLAN"))
	if file != "" {
		var err error
		if data, err = os.ReadFile(file); err != nil {
			return nil, err
		}
	}
	if len(data) == 0 {
		return nil, fmt.Errorf("no instance plan: pass -plan FILE or set MESHC_INSTANCE_PLAN")
	}
	return plan.DecodeInstance(data)
}

// setIndex takes the replica index from $MESHC_INSTANCE_INDEX, else from
// the operator's instance configuration, else leaves the plan's.
func setIndex(in *plan.Instance, env, operatorConf string) error {
	switch {
	case env != "":
		i, err := strconv.Atoi(env)
		if err != nil || i < 0 {
			return fmt.Errorf("MESHC_INSTANCE_INDEX=%q: want a replica index, 0 or more", env)
		}
		in.Index = i
	case operatorConf != "":
		var conf struct {
			InstanceID *int `json:"instanceID"`
		}
		if err := json.Unmarshal([]byte(operatorConf), &conf); err != nil {
			return fmt.Errorf("-instance-conf: %w", err)
		}
		if conf.InstanceID != nil {
			in.Index = *conf.InstanceID
		}
	}
	return nil
}

func envOr(key, def string) string {
	if v, ok := os.LookupEnv(key); ok {
		return v
	}
	return def
}

// envDuration reads a duration from the environment; a value that does not
// parse keeps the default, and the flag's help shows which is used.
func envDuration(key string, def time.Duration) time.Duration {
	if d, err := time.ParseDuration(os.Getenv(key)); err == nil {
		return d
	}
	return def
}
