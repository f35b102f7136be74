package shop

import (
	"errors"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/meshc/meshc/runtime"
)

func TestParseOrder(t *testing.T) {
	tests := []struct {
		line string
		want Order
		bad  bool
	}{
		{line: "o-1, Alice , 12.5, eur", want: Order{ID: "o-1", Customer: "alice", Amount: 12.5, Currency: "EUR"}},
		{line: "o-2,bob,0,USD", want: Order{ID: "o-2", Customer: "bob", Currency: "USD"}},
		{line: "o-3,bob,twelve,USD", bad: true},
		{line: "o-4,bob,-1,USD", bad: true},
		{line: "o-5,,1,USD", bad: true},
		{line: "o-6,bob,1,EURO", bad: true},
		{line: "not an order", bad: true},
	}
	for _, tt := range tests {
		got, err := ParseOrder(nil, tt.line)
		if tt.bad {
			if !errors.Is(err, runtime.ErrBadInput) {
				t.Errorf("ParseOrder(%q) = %v, %v; want a bad input", tt.line, got, err)
			}
			continue
		}
		if err != nil {
			t.Errorf("ParseOrder(%q): %v", tt.line, err)
			continue
		}
		if diff := cmp.Diff(tt.want, got); diff != "" {
			t.Errorf("ParseOrder(%q) (-want +got):\n%s", tt.line, diff)
		}
	}
}

func TestParseJSON(t *testing.T) {
	got, err := ParseJSON(nil, `{"id": "T-1", "n": 2}`)
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(map[string]any{"id": "T-1", "n": 2.0}, got); diff != "" {
		t.Errorf("ParseJSON (-want +got):\n%s", diff)
	}
	if _, err := ParseJSON(nil, `[1, 2]`); !errors.Is(err, runtime.ErrBadInput) {
		t.Errorf("ParseJSON of a list: %v, want a bad input", err)
	}
}
