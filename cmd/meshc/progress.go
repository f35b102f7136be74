package main

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"os"
	"strings"
	"sync"
	"text/tabwriter"
	"time"

	"golang.org/x/term"

	"github.com/meshc/meshc/backends/local"
)

// progress shows a running mesh: a table refreshed in place on a
// terminal, or a plain line every few seconds otherwise. Sink output goes
// to out; when both share the terminal, the table is cleared before a
// line is printed and redrawn at the next refresh.
type progress struct {
	mu      sync.Mutex
	out     io.Writer
	err     io.Writer
	mode    string // tty, plain or off
	shared  bool   // out and err are the same terminal
	drawn   int    // lines of the table on screen
	last    map[string]local.Counters
	rates   map[string]float64
	lastAt  time.Time
	printed time.Time // of the last plain line
	mesh    *local.Mesh
}

func newProgress(out, err io.Writer, mode string) *progress {
	p := &progress{out: out, err: err, mode: mode, printed: time.Now()}
	if mode == "auto" {
		p.mode = "plain"
		if isTerminal(err) {
			p.mode = "tty"
			p.shared = isTerminal(out)
		}
	}
	return p
}

func isTerminal(w io.Writer) bool {
	f, ok := w.(*os.File)
	return ok && term.IsTerminal(int(f.Fd()))
}

// stdout is where instances' output goes.
func (p *progress) stdout() io.Writer { return writerFunc(p.writeOut) }

// stderr is where messages go, above the table.
func (p *progress) stderr() io.Writer { return writerFunc(p.writeErr) }

type writerFunc func([]byte) (int, error)

func (f writerFunc) Write(b []byte) (int, error) { return f(b) }

func (p *progress) writeOut(b []byte) (int, error) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.shared {
		p.clear()
	}
	return p.out.Write(b)
}

func (p *progress) writeErr(b []byte) (int, error) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.clear()
	return p.err.Write(b)
}

// clear erases the table; p.mu is held.
func (p *progress) clear() {
	if p.drawn > 0 {
		fmt.Fprintf(p.err, "\x1b[%dF\x1b[J", p.drawn)
		p.drawn = 0
	}
}

// refresh reads the mesh's stats and shows them.
func (p *progress) refresh(ctx context.Context, m *local.Mesh) {
	if p.mode == "off" {
		return
	}
	stats, err := m.Stats(ctx, "")
	if err != nil {
		return
	}
	status, _ := m.Status("")
	now := time.Now()
	p.mu.Lock()
	defer p.mu.Unlock()
	rates := map[string]float64{}
	if p.last != nil {
		dt := now.Sub(p.lastAt).Seconds()
		for name, c := range stats {
			rates[name] = max(0, float64(c.Processed-p.last[name].Processed)/dt)
		}
	}
	p.last, p.rates, p.lastAt, p.mesh = stats, rates, now, m
	restarts := map[string]int{}
	for _, s := range status {
		restarts[s.Component] += s.Restarts
	}
	switch p.mode {
	case "tty":
		table := renderTable(m, stats, rates, restarts)
		p.clear()
		io.WriteString(p.err, table)
		p.drawn = strings.Count(table, "\n")
	case "plain":
		if now.Sub(p.printed) >= 5*time.Second {
			p.printed = now
			fmt.Fprintln(p.err, renderLine(m, stats, rates))
		}
	}
}

// finish leaves the last table on screen, above what follows. The totals
// written once the mesh has stopped say how the run ended: a last line of
// progress here would show counts still moving.
func (p *progress) finish() {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.drawn = 0
}

func renderTable(m *local.Mesh, stats map[string]local.Counters, rates map[string]float64, restarts map[string]int) string {
	var b bytes.Buffer
	tw := tabwriter.NewWriter(&b, 0, 0, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintln(tw, "NAME\tKIND\tUP\tMSG/S\tPROCESSED\tERRORS\tRESTARTS\t")
	for _, name := range m.Order() {
		c := stats[name]
		fmt.Fprintf(tw, "%s\t%s\t%s\t%.0f\t%d\t%d\t%d\t\n", name, kindOf(m, name), up(c), rates[name], c.Processed,
			c.UserErrors+c.SystemErrors, restarts[name])
	}
	tw.Flush()
	return b.String()
}

func renderLine(m *local.Mesh, stats map[string]local.Counters, rates map[string]float64) string {
	var parts []string
	for _, name := range m.Order() {
		c := stats[name]
		state := up(c) + " up"
		if c.InstancesWanted == 0 {
			state = "done"
		}
		parts = append(parts, fmt.Sprintf("%s %s, %d processed, %.0f msg/s, %d errors", name, state, c.Processed, rates[name], c.UserErrors+c.SystemErrors))
	}
	return "progress: " + strings.Join(parts, "; ")
}

func up(c local.Counters) string {
	if c.InstancesWanted == 0 {
		return "done"
	}
	return fmt.Sprintf("%d/%d", c.InstancesUp, c.InstancesWanted)
}

func kindOf(m *local.Mesh, name string) string {
	for _, c := range m.Plan().Components {
		if c.Name == name {
			return string(c.Kind)
		}
	}
	return ""
}

// writeTotals writes what each component did over the whole run, its
// instances' restarts included, once they have all stopped: sources count
// what they wrote, the others what they received and how it ended.
func writeTotals(w io.Writer, m *local.Mesh) {
	stats, err := m.Stats(context.Background(), "")
	if err != nil {
		return
	}
	status, _ := m.Status("")
	restarts := map[string]int{}
	for _, s := range status {
		restarts[s.Component] += s.Restarts
	}
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintln(tw, "TOTALS\tKIND\tWRITTEN\tRECEIVED\tPROCESSED\tERRORS\tBAD INPUT\tDEAD-LETTERED\tRESTARTS\t")
	for _, name := range m.Order() {
		c := stats[name]
		kind := kindOf(m, name)
		counts := []string{"-", fmt.Sprint(c.Received), fmt.Sprint(c.Processed)}
		if kind == "source" {
			counts = []string{fmt.Sprint(c.Processed), "-", "-"}
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%d\t%d\t%d\t%d\t\n", name, kind, strings.Join(counts, "\t"),
			c.UserErrors+c.SystemErrors, c.BadInput, c.DeadLettered, restarts[name])
	}
	tw.Flush()
}
