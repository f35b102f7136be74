package storage

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"hash/crc32"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"
)

func record(i int, size int) Record {
	data := bytes.Repeat([]byte{byte(i)}, size)
	return Record{Checksum: uint32(i) * 7, Producer: fmt.Sprintf("p%d", i%3), HighestSeq: uint64(i) * 10, Data: data}
}

func records(n, size int) []Record {
	out := make([]Record, n)
	for i := range out {
		out[i] = record(i, size)
	}
	return out
}

// openCollect opens the log in dir and returns it with the replayed records.
func openCollect(t *testing.T, dir string, segmentSize int64) (*Log, []Record) {
	t.Helper()
	var got []Record
	l, err := OpenLog(dir, segmentSize, func(r Record, _ Pos) error {
		got = append(got, r)
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return l, got
}

func appendAll(t *testing.T, l *Log, recs []Record) {
	t.Helper()
	for _, r := range recs {
		if _, err := l.Append(r, nil); err != nil {
			t.Fatal(err)
		}
	}
}

func segmentFiles(t *testing.T, dir string) []string {
	t.Helper()
	segs, err := filepath.Glob(filepath.Join(dir, "*.log"))
	if err != nil {
		t.Fatal(err)
	}
	for i := range segs {
		segs[i] = filepath.Base(segs[i])
	}
	return segs
}

func TestLogReopen(t *testing.T) {
	for _, tc := range []struct {
		name        string
		segmentSize int64
		recs        []Record
		sessions    int // the records are appended over this many opens
		wantSegs    []string
	}{
		{"empty", 0, nil, 1, []string{"00000000000000000000.log"}},
		{"one segment", 0, records(100, 50), 1, []string{"00000000000000000000.log"}},
		{"over several opens", 0, records(90, 10), 3, []string{"00000000000000000000.log"}},
		// Each record is 8+14+2+100 bytes: a 300-byte segment takes three
		// (the first write past the size starts the next one).
		{"rollover", 300, records(10, 100), 1, []string{
			"00000000000000000000.log", "00000000000000000003.log", "00000000000000000006.log", "00000000000000000009.log"}},
		{"rollover over opens", 300, records(10, 100), 2, []string{
			"00000000000000000000.log", "00000000000000000003.log", "00000000000000000006.log", "00000000000000000009.log"}},
		{"empty data and producer", 0, []Record{{}, {Producer: "x"}, {Data: []byte{1}}}, 1, []string{"00000000000000000000.log"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			dir := t.TempDir()
			per := (len(tc.recs) + tc.sessions - 1) / tc.sessions
			for s := range tc.sessions {
				l, _ := openCollect(t, dir, tc.segmentSize)
				appendAll(t, l, tc.recs[min(s*per, len(tc.recs)):min((s+1)*per, len(tc.recs))])
				if err := l.Close(); err != nil {
					t.Fatal(err)
				}
			}
			l, got := openCollect(t, dir, tc.segmentSize)
			defer l.Close()
			if diff := cmp.Diff(tc.recs, got, cmp.Comparer(bytes.Equal)); diff != "" {
				t.Fatalf("replayed records (-want +got):\n%s", diff)
			}
			if l.Len() != uint64(len(tc.recs)) {
				t.Fatalf("Len %d, want %d", l.Len(), len(tc.recs))
			}
			if diff := cmp.Diff(tc.wantSegs, segmentFiles(t, dir)); diff != "" {
				t.Fatalf("segments (-want +got):\n%s", diff)
			}
		})
	}
}

// lastSegment returns the path of the newest segment in dir.
func lastSegment(t *testing.T, dir string) string {
	segs := segmentFiles(t, dir)
	return filepath.Join(dir, segs[len(segs)-1])
}

func TestLogCutsDamagedTail(t *testing.T) {
	const n, size = 5, 20
	recLen := int64(recordHeader + bodyHeader + 2 + size)
	for _, tc := range []struct {
		name   string
		damage func(t *testing.T, path string)
		want   int // records left after the reopen
	}{
		{"half a header", appendBytes(0, 0, 1), n},
		{"header without body", appendBytes(AppendRecord(nil, record(9, size))[:recordHeader]...), n},
		{"torn body", appendBytes(AppendRecord(nil, record(9, size))[:recordHeader+5]...), n},
		{"zero length", appendBytes(0, 0, 0, 0, 0, 0, 0, 0), n},
		{"absurd length", appendBytes(0xff, 0xff, 0xff, 0xff, 0, 0, 0, 0), n},
		{"flipped bit in last record", flipByte(-1), n - 1},
		{"flipped bit in third record", flipByte(int64(len(segmentMagic)) + 2*recLen + 12), 2},
		{"producer name beyond record", replaceFrom(int64(len(segmentMagic))+4*recLen,
			rawRecord(append(make([]byte, bodyHeader-2), 0xff, 0xff))), 4},
		{"torn magic", truncateTo(3), 0},
		{"empty segment", truncateTo(0), 0},
	} {
		t.Run(tc.name, func(t *testing.T) {
			dir := t.TempDir()
			l, _ := openCollect(t, dir, 0)
			appendAll(t, l, records(n, size))
			l.Close()
			tc.damage(t, lastSegment(t, dir))

			l, got := openCollect(t, dir, 0)
			if diff := cmp.Diff(records(tc.want, size), got, cmp.Comparer(bytes.Equal), cmpopts.EquateEmpty()); diff != "" {
				t.Fatalf("after damage (-want +got):\n%s", diff)
			}
			// The log goes on after the intact records.
			extra := record(42, size)
			appendAll(t, l, []Record{extra})
			l.Close()
			l, got = openCollect(t, dir, 0)
			defer l.Close()
			want := append(records(tc.want, size), extra)
			if diff := cmp.Diff(want, got, cmp.Comparer(bytes.Equal)); diff != "" {
				t.Fatalf("after another append (-want +got):\n%s", diff)
			}
		})
	}
}

func appendBytes(b ...byte) func(*testing.T, string) {
	return func(t *testing.T, path string) {
		f, err := os.OpenFile(path, os.O_APPEND|os.O_WRONLY, 0)
		if err != nil {
			t.Fatal(err)
		}
		defer f.Close()
		if _, err := f.Write(b); err != nil {
			t.Fatal(err)
		}
	}
}

// flipByte flips a bit at off, counted from the end when negative.
func flipByte(off int64) func(*testing.T, string) {
	return func(t *testing.T, path string) {
		b, err := os.ReadFile(path)
		if err != nil {
			t.Fatal(err)
		}
		if off < 0 {
			off += int64(len(b))
		}
		b[off] ^= 1
		if err := os.WriteFile(path, b, 0o644); err != nil {
			t.Fatal(err)
		}
	}
}

// replaceFrom cuts the segment at off and writes b there.
func replaceFrom(off int64, b []byte) func(*testing.T, string) {
	return func(t *testing.T, path string) {
		truncateTo(off)(t, path)
		appendBytes(b...)(t, path)
	}
}

// rawRecord frames body as a record with a valid checksum.
func rawRecord(body []byte) []byte {
	b := binary.BigEndian.AppendUint32(nil, uint32(len(body)))
	b = binary.BigEndian.AppendUint32(b, crc32.Checksum(body, castagnoli))
	return append(b, body...)
}

func truncateTo(n int64) func(*testing.T, string) {
	return func(t *testing.T, path string) {
		if err := os.Truncate(path, n); err != nil {
			t.Fatal(err)
		}
	}
}

func TestLogRefusesDamageItCannotCut(t *testing.T) {
	for _, tc := range []struct {
		name    string
		damage  func(t *testing.T, dir string)
		wantErr string
	}{
		{"damage in an earlier segment", func(t *testing.T, dir string) {
			flipByte(int64(len(segmentMagic))+12)(t, filepath.Join(dir, segmentFiles(t, dir)[0]))
		}, "is damaged at byte 8"},
		{"missing segment", func(t *testing.T, dir string) {
			os.Remove(filepath.Join(dir, segmentFiles(t, dir)[1]))
		}, "does not follow entry 3"},
		{"other format", func(t *testing.T, dir string) {
			os.WriteFile(lastSegment(t, dir), []byte("something else entirely"), 0o644)
		}, "is not a meshc broker log"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			dir := t.TempDir()
			l, _ := openCollect(t, dir, 300)
			appendAll(t, l, records(10, 100))
			l.Close()
			tc.damage(t, dir)
			_, err := OpenLog(dir, 300, func(Record, Pos) error { return nil })
			if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
				t.Fatalf("err %v, want one containing %q", err, tc.wantErr)
			}
		})
	}
}

func TestLogReplayErrorStopsOpen(t *testing.T) {
	dir := t.TempDir()
	l, _ := openCollect(t, dir, 0)
	appendAll(t, l, records(3, 1))
	l.Close()
	stop := errors.New("bad entry")
	if _, err := OpenLog(dir, 0, func(Record, Pos) error { return stop }); !errors.Is(err, stop) {
		t.Fatalf("err %v, want %v", err, stop)
	}
}

func TestGroupCommit(t *testing.T) {
	dir := t.TempDir()
	l, _ := openCollect(t, dir, 500) // small segments: rollovers during commits
	const n = 200
	var mu sync.Mutex
	var order []int
	var wg sync.WaitGroup
	for i := range n {
		wg.Add(1)
		done := func(err error) {
			defer wg.Done()
			if err != nil {
				t.Error(err)
			}
			mu.Lock()
			order = append(order, i)
			mu.Unlock()
		}
		if _, err := l.Append(record(i, 30), done); err != nil {
			t.Fatal(err)
		}
		if i%50 == 49 {
			wg.Add(1)
			l.Barrier(func() {
				defer wg.Done()
				mu.Lock()
				order = append(order, -i)
				mu.Unlock()
			})
		}
	}
	wg.Wait()
	var want []int
	for i := range n {
		want = append(want, i)
		if i%50 == 49 {
			want = append(want, -i)
		}
	}
	if diff := cmp.Diff(want, order); diff != "" {
		t.Fatalf("callback order (-want +got):\n%s", diff)
	}
	if err := l.Close(); err != nil {
		t.Fatal(err)
	}
	if _, err := l.Append(record(0, 1), nil); err == nil {
		t.Fatal("append after Close succeeded")
	}
	l, got := openCollect(t, dir, 500)
	defer l.Close()
	if diff := cmp.Diff(records(n, 30), got, cmp.Comparer(bytes.Equal)); diff != "" {
		t.Fatalf("replayed records (-want +got):\n%s", diff)
	}
}

func TestBarrierWithoutPendingAppends(t *testing.T) {
	l, _ := openCollect(t, t.TempDir(), 0)
	defer l.Close()
	called := false
	l.Barrier(func() { called = true })
	if !called {
		t.Fatal("Barrier with nothing pending did not call at once")
	}
}

func TestAppendRefusesOversizedProducer(t *testing.T) {
	l, _ := openCollect(t, t.TempDir(), 0)
	defer l.Close()
	_, err := l.Append(Record{Producer: strings.Repeat("x", MaxProducerName+1)}, nil)
	if err == nil {
		t.Fatal("oversized producer name accepted")
	}
	if err := l.Sync(); err != nil {
		t.Fatal(err)
	}
}

// FuzzReadSegment feeds arbitrary segment files to the reader the broker
// runs at startup: it never panics, and what it accepts re-encodes to
// exactly the bytes it read.
func FuzzReadSegment(f *testing.F) {
	seg := []byte(segmentMagic)
	for i := range 3 {
		seg = AppendRecord(seg, record(i, i*5))
	}
	f.Add(seg)
	f.Add(seg[:len(seg)-3])
	f.Add([]byte(segmentMagic))
	f.Add([]byte("MSHLOG0"))
	f.Fuzz(func(t *testing.T, b []byte) {
		again := []byte(segmentMagic)
		count, size, err := ReadSegment(bytes.NewReader(b), func(r Record) error {
			again = AppendRecord(again, r)
			return nil
		})
		var damaged *DamageError
		if err != nil && !errors.As(err, &damaged) {
			t.Fatalf("error of another kind: %v", err)
		}
		if size > int64(len(b)) || (err == nil && size != int64(len(b))) {
			t.Fatalf("size %d of %d bytes, err %v", size, len(b), err)
		}
		if count > 0 && !bytes.Equal(again, b[:size]) {
			t.Fatalf("%d records re-encode differently", count)
		}
	})
}
