package runtime

import (
	"context"
	"flag"
	"fmt"
	"log/slog"
	"os"
	"os/signal"
	"syscall"

	"github.com/meshc/meshc/planner/plan"
)

// Main is the whole program of an instance binary: it reads the instance
// plan named by -plan (or the JSON in $MESHC_INSTANCE_PLAN), connects to
// -pulsar-url (or $MESHC_PULSAR_URL), and runs until SIGINT or SIGTERM.
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
	fs.Parse(os.Args[1:])

	log := slog.New(slog.NewTextHandler(os.Stderr, nil))
	in, err := loadInstance(*planFile)
	if err != nil {
		log.Error("cannot start", "error", err)
		os.Exit(2)
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	err = Run(ctx, Options{Plan: in, PulsarURL: *url, Registry: reg, Logger: log, Listen: *listen})
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

func envOr(key, def string) string {
	if v, ok := os.LookupEnv(key); ok {
		return v
	}
	return def
}
