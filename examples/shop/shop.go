// Package shop holds the Go functions of the example meshes, written as a
// user writes them against the runtime's public API. The instance binary
// in cmd/shoprt registers them next to the built-ins.
package shop

import (
	"encoding/json"
	"fmt"
	"strconv"
	"strings"

	"github.com/meshc/meshc/runtime"
)

// Register adds the shop's functions to a registry.
func Register(r *runtime.Registry) *runtime.Registry {
	return r.
		Func("ParseOrder", runtime.Typed(ParseOrder)).
		Func("ParseJSON", runtime.Typed(ParseJSON)).
		Func("Enrich", Enrich)
}

// Order is a cleaned order record.
type Order struct {
	ID       string  `json:"id"`
	Customer string  `json:"customer"`
	Amount   float64 `json:"amount"`
	Currency string  `json:"currency"`
}

// ParseOrder cleans one raw order line, "id,customer,amount,currency":
// blanks trimmed, the customer lower-cased, the currency upper-cased. A
// line that cannot be an order is a bad input, which the runtime sends to
// the dead-letter topic at once, with the reason, instead of retrying it.
func ParseOrder(_ runtime.Context, line string) (Order, error) {
	f := strings.Split(line, ",")
	if len(f) != 4 {
		return Order{}, bad("want 4 comma-separated fields, found %d", len(f))
	}
	for i := range f {
		f[i] = strings.TrimSpace(f[i])
	}
	o := Order{ID: f[0], Customer: strings.ToLower(f[1]), Currency: strings.ToUpper(f[3])}
	if o.ID == "" || o.Customer == "" {
		return Order{}, bad("the id and the customer may not be empty")
	}
	amount, err := strconv.ParseFloat(f[2], 64)
	if err != nil || amount < 0 {
		return Order{}, bad("amount %q is not a number of at least 0", f[2])
	}
	o.Amount = amount
	if len(o.Currency) != 3 {
		return Order{}, bad("currency %q is not a three-letter code", f[3])
	}
	return o, nil
}

// ParseJSON reads a line of JSON text as a record; the output topic's
// schema then checks its fields. Text that is not a JSON object is a bad
// input.
func ParseJSON(_ runtime.Context, line string) (map[string]any, error) {
	var rec map[string]any
	if err := json.Unmarshal([]byte(line), &rec); err != nil {
		return nil, bad("not a JSON object: %v", err)
	}
	return rec, nil
}

// EnrichedClick is a click with the profile of the user who clicked.
type EnrichedClick struct {
	User string `json:"user"`
	Page string `json:"page"`
	Name string `json:"name"`
	Tier string `json:"tier"`
}

// Enrich joins two streams of "user,..." lines: profiles ("user,name,tier")
// are kept in key-value state by user, and each click ("user,page") comes
// out with its user's profile. A click whose profile has not arrived yet
// fails, so the runtime delivers it again later, up to max_retries.
func Enrich(ctx runtime.Context, in runtime.Input, emit runtime.Emit) error {
	line, _ := in.Value.(string)
	f := strings.Split(line, ",")
	if strings.HasSuffix(ctx.InputTopic(), "/profiles") {
		if len(f) != 3 {
			return bad("a profile reads user,name,tier; found %q", line)
		}
		return ctx.PutState(f[0], []byte(f[1]+","+f[2]))
	}
	if len(f) != 2 {
		return bad("a click reads user,page; found %q", line)
	}
	profile, ok, err := ctx.GetState(f[0])
	if err != nil {
		return err
	}
	if !ok {
		return fmt.Errorf("no profile of user %s yet", f[0])
	}
	name, tier, _ := strings.Cut(string(profile), ",")
	return emit(EnrichedClick{User: f[0], Page: f[1], Name: name, Tier: tier})
}

func bad(format string, args ...any) error {
	return fmt.Errorf("%w: %s", runtime.ErrBadInput, fmt.Sprintf(format, args...))
}
