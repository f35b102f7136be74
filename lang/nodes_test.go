package lang

import (
	"runtime"
	"testing"
	"time"
)

// TestParseLetsGoOfEarlierTrees: a tree parsed before another is collected
// once dropped. The productions that participle calls take their nodes from
// blocks lent by a pool; lent on from one parse to the next, a block held
// the last nodes of one tree and the first of the next, which kept the
// earlier tree alive through them.
func TestParseLetsGoOfEarlierTrees(t *testing.T) {
	src := []byte("mesh m { tenant = \"t\" namespace = \"n\" }\ntopic a string\ntopic b string\n")
	first, diags := Parse("first.mesh", src)
	if len(diags) > 0 {
		t.Fatal(diags)
	}
	collected := make(chan bool, 1)
	last := first.Decls[len(first.Decls)-1].(*Topic).Schema // made by a hand-written production
	runtime.AddCleanup(last, func(ch chan bool) { ch <- true }, collected)
	first, last = nil, nil
	second, diags := Parse("second.mesh", src)
	if len(diags) > 0 {
		t.Fatal(diags)
	}
	deadline := time.Now().Add(10 * time.Second)
	for {
		runtime.GC()
		select {
		case <-collected:
			runtime.KeepAlive(second)
			return
		case <-time.After(10 * time.Millisecond):
		}
		if time.Now().After(deadline) {
			t.Fatal("the first tree's nodes are still reachable once the second is parsed")
		}
	}
}
