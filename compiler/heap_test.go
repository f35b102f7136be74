package compiler

import (
	"math/rand/v2"
	"slices"
	"testing"

	"github.com/google/go-cmp/cmp"
)

// TestMinHeap pops what was pushed in order, pushes and pops interleaved
// as the topological order interleaves them.
func TestMinHeap(t *testing.T) {
	r := rand.New(rand.NewPCG(1, 2))
	for _, n := range []int{0, 1, 2, 3, 7, 100, 1000} {
		var h minHeap
		var in, got []int
		for i := range n {
			v := r.IntN(50)
			h.push(v)
			in = append(in, v)
			if i%3 == 2 { // take the least so far out
				least := slices.Min(in)
				in = slices.Delete(in, slices.Index(in, least), slices.Index(in, least)+1)
				if p := h.pop(); p != least {
					t.Fatalf("n=%d: popped %d, want %d", n, p, least)
				}
			}
		}
		for len(h) > 0 {
			got = append(got, h.pop())
		}
		slices.Sort(in)
		if diff := cmp.Diff(in, got); diff != "" {
			t.Errorf("n=%d (-want +got):\n%s", n, diff)
		}
	}
}
