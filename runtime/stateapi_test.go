package runtime

import (
	"context"
	"testing"

	"github.com/google/go-cmp/cmp"
)

func TestPutAndQueryState(t *testing.T) {
	c := client(t, startBroker(t))
	ctx := context.Background()
	for _, e := range []StateEntry{{Key: "fox", Counter: true, Number: 41}, {Key: "colour", Value: []byte("red")}} {
		if err := PutState(ctx, c, "public", "default", "f", e); err != nil {
			t.Fatal(err)
		}
		got, ok, err := QueryState(ctx, c, "public", "default", "f", e.Key)
		if err != nil || !ok {
			t.Fatalf("QueryState(%s) = %v, %v", e.Key, ok, err)
		}
		if diff := cmp.Diff(e, got); diff != "" {
			t.Errorf("state %s (-put +read):\n%s", e.Key, diff)
		}
	}
	if _, ok, err := QueryState(ctx, c, "public", "default", "f", "absent"); ok || err != nil {
		t.Errorf("QueryState(absent) = %v, %v; want not found", ok, err)
	}
}
