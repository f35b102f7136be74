package storage

import (
	"bytes"
	"errors"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

// appendPositions appends recs and returns where each went.
func appendPositions(t *testing.T, l *Log, recs []Record) []Pos {
	t.Helper()
	var out []Pos
	for _, r := range recs {
		pos, err := l.Append(r, nil)
		if err != nil {
			t.Fatal(err)
		}
		out = append(out, pos)
	}
	return out
}

func readAll(t *testing.T, l *Log, pos []Pos) []Record {
	t.Helper()
	var got []Record
	for _, p := range pos {
		if err := l.ReadRange(p.Segment, p.Offset, p.End, func(r Record) error {
			got = append(got, r)
			return nil
		}); err != nil {
			t.Fatal(err)
		}
	}
	return got
}

func TestReadRange(t *testing.T) {
	dir := t.TempDir()
	l, _ := openCollect(t, dir, 300)
	recs := records(10, 100)
	pos := appendPositions(t, l, recs)
	if diff := cmp.Diff(recs, readAll(t, l, pos), cmp.Comparer(bytes.Equal)); diff != "" {
		t.Fatalf("records read back (-want +got):\n%s", diff)
	}
	// One read covers consecutive records of a segment.
	var n int
	if err := l.ReadRange(3, pos[3].Offset, pos[5].End, func(Record) error { n++; return nil }); err != nil || n != 3 {
		t.Fatalf("read %d records of segment 3, err %v; want 3", n, err)
	}
	l.Close()

	// The positions OpenLog reports are those Append did.
	var replayed []Pos
	l, err := OpenLog(dir, 300, func(_ Record, p Pos) error {
		replayed = append(replayed, p)
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	if diff := cmp.Diff(pos, replayed); diff != "" {
		t.Fatalf("replayed positions (-want +got):\n%s", diff)
	}
}

func TestReadRangeDetectsDamage(t *testing.T) {
	dir := t.TempDir()
	l, _ := openCollect(t, dir, 0)
	defer l.Close()
	pos := appendPositions(t, l, records(3, 20))
	flipByte(pos[1].Offset+recordHeader+3)(t, lastSegment(t, dir))
	err := l.ReadRange(0, pos[1].Offset, pos[1].End, func(Record) error { return nil })
	if err == nil || !strings.Contains(err.Error(), "checksum mismatch") {
		t.Fatalf("err %v, want a checksum mismatch", err)
	}
	if err := l.ReadRange(0, pos[0].Offset, pos[0].End+3, func(Record) error { return nil }); err == nil {
		t.Fatal("a range ending inside a record was read")
	}
}

func TestRemoveSegment(t *testing.T) {
	dir := t.TempDir()
	l, _ := openCollect(t, dir, 300) // three records a segment
	recs := records(10, 100)
	pos := appendPositions(t, l, recs)
	if err := l.RemoveSegment(9); !errors.Is(err, ErrActiveSegment) {
		t.Fatalf("removing the active segment: err %v", err)
	}
	readAll(t, l, pos[:1]) // segment 0 open for reading while it goes
	for _, seg := range []uint64{0, 3} {
		if err := l.RemoveSegment(seg); err != nil {
			t.Fatal(err)
		}
	}
	if err := l.ReadRange(0, pos[0].Offset, pos[0].End, func(Record) error { return nil }); err == nil {
		t.Fatal("read a removed segment")
	}
	l.Close()

	l, got := openCollect(t, dir, 300)
	defer l.Close()
	if diff := cmp.Diff(recs[6:], got, cmp.Comparer(bytes.Equal)); diff != "" {
		t.Fatalf("replayed after removal (-want +got):\n%s", diff)
	}
	if l.Len() != 10 {
		t.Fatalf("Len %d, want 10", l.Len())
	}
	next, err := l.Append(record(10, 100), nil)
	if err != nil || next.Segment != 9 {
		t.Fatalf("append after removal went to %+v, err %v", next, err)
	}
}
