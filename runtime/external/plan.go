package external

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"strconv"
	"time"

	"github.com/meshc/meshc/planner/plan"
	"github.com/meshc/meshc/runtime/external/python"
)

// Exec starts the program of an exec component, as its instance plan says.
// The program runs in the instance's working folder, with the Python
// helper's folder on PYTHONPATH; a call may take the component's timeout,
// or DefaultTimeout when it has none.
func Exec(ctx context.Context, inst *plan.Instance, log *slog.Logger, badInput error) (*Runner, error) {
	c := &inst.Component
	if c.Implementation.Kind != "exec" {
		return nil, fmt.Errorf("function %s runs %s, not exec", c.Name, c.Implementation.Kind)
	}
	env, err := Env(inst)
	if err != nil {
		return nil, err
	}
	if py, err := python.PathEnv(); err == nil {
		env = append(env, py)
	} else {
		log.Warn("Python functions will not find meshc_function unless it is on their path", "error", err)
	}
	return New(ctx, Options{
		Name: c.Name, Start: Command(c.Implementation.Command, env, "", log),
		Timeout: time.Duration(c.Timeout), Logger: log, BadInput: badInput,
	})
}

// Env is what a function learns of its instance, as NAME=VALUE pairs for
// its environment: MESHC_FUNCTION_NAME, MESHC_TENANT, MESHC_NAMESPACE,
// MESHC_INSTANCE_INDEX, and MESHC_FUNCTION_CONFIG, the user configuration
// as a JSON object.
func Env(inst *plan.Instance) ([]string, error) {
	c := &inst.Component
	js, err := json.Marshal(c.Config) // an object, {} for none
	if err != nil {
		return nil, errors.Join(fmt.Errorf("function %s: its config cannot be passed on as JSON", c.Name), err)
	}
	return []string{
		"MESHC_FUNCTION_NAME=" + c.Name,
		"MESHC_TENANT=" + inst.Mesh.Tenant,
		"MESHC_NAMESPACE=" + inst.Mesh.Namespace,
		"MESHC_INSTANCE_INDEX=" + strconv.Itoa(inst.Index),
		"MESHC_FUNCTION_CONFIG=" + string(js),
	}, nil
}
