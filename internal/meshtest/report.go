package meshtest

import (
	"encoding/json"
	"encoding/xml"
	"fmt"
	"io"
	"strings"
	"time"
)

// FileResult is what came of one test file: its cases' results, or the
// error that kept them from running.
type FileResult struct {
	File    string
	Elapsed time.Duration
	Results []Result
	Err     error
}

// Passed tells whether the file loaded and every case passed.
func (f *FileResult) Passed() bool {
	if f.Err != nil {
		return false
	}
	for i := range f.Results {
		if !f.Results[i].Passed() {
			return false
		}
	}
	return true
}

// CaseReporter is told of each case as it starts and when it is done.
type CaseReporter interface {
	Start(file, name string)
	Case(r *Result)
}

// Reporter shows results as they come: each case, then its file.
type Reporter interface {
	CaseReporter
	File(f *FileResult)
}

// Text reports as go test does: a --- FAIL block per failing case with
// each failure at its position and its diff, then ok or FAIL per file.
// Verbose shows passing cases too.
type Text struct {
	W       io.Writer
	Verbose bool
}

func (t *Text) Start(_, name string) {
	if t.Verbose {
		fmt.Fprintf(t.W, "=== RUN   %s\n", name)
	}
}

func (t *Text) Case(r *Result) {
	if r.Passed() {
		if t.Verbose {
			fmt.Fprintf(t.W, "--- PASS: %s (%s)\n", r.Case, seconds(r.Elapsed))
		}
		return
	}
	fmt.Fprintf(t.W, "--- FAIL: %s (%s)\n", r.Case, seconds(r.Elapsed))
	io.WriteString(t.W, indent(failureText(r), "    "))
}

func (t *Text) File(f *FileResult) {
	switch {
	case f.Err != nil:
		fmt.Fprintf(t.W, "FAIL\t%s [setup failed]\n", f.File)
	case len(f.Results) == 0:
		fmt.Fprintf(t.W, "ok  \t%s\t%s [no tests to run]\n", f.File, seconds(f.Elapsed))
	case f.Passed():
		fmt.Fprintf(t.W, "ok  \t%s\t%s\n", f.File, seconds(f.Elapsed))
	default:
		fmt.Fprintf(t.W, "FAIL\t%s\t%s\n", f.File, seconds(f.Elapsed))
	}
}

// failureText is every failure of a case: position, message, diff, and
// where the instance logs are kept.
func failureText(r *Result) string {
	var b strings.Builder
	for _, f := range r.Failures {
		fmt.Fprintf(&b, "%s: %s\n", posText(f), f.Message)
		if f.Diff != "" {
			b.WriteString(indent(f.Diff, "    "))
		}
	}
	if r.LogDir != "" {
		fmt.Fprintf(&b, "instance logs: %s\n", r.LogDir)
	}
	return b.String()
}

func posText(f Failure) string {
	return fmt.Sprintf("%s:%d:%d", f.Pos.Filename(), f.Pos.Line(), f.Pos.Column())
}

func indent(s, prefix string) string {
	if s == "" {
		return ""
	}
	lines := strings.Split(strings.TrimRight(s, "\n"), "\n")
	return prefix + strings.Join(lines, "\n"+prefix) + "\n"
}

func seconds(d time.Duration) string { return fmt.Sprintf("%.2fs", d.Seconds()) }

// Event is one line of the JSON report, in the shape of go test -json:
// Action is run, output, pass or fail; Package is the test file.
type Event struct {
	Time    time.Time `json:"Time"`
	Action  string    `json:"Action"`
	Package string    `json:"Package"`
	Test    string    `json:"Test,omitempty"`
	Elapsed float64   `json:"Elapsed,omitempty"`
	Output  string    `json:"Output,omitempty"`
}

// JSON reports one event a line.
type JSON struct {
	W   io.Writer
	Now func() time.Time // default time.Now
}

func (j *JSON) emit(e Event) {
	if j.Now == nil {
		j.Now = time.Now
	}
	e.Time = j.Now()
	b, _ := json.Marshal(e)
	j.W.Write(append(b, '\n'))
}

func (j *JSON) Start(file, name string) {
	j.emit(Event{Action: "run", Package: file, Test: name})
}

func (j *JSON) Case(r *Result) {
	action := "pass"
	if !r.Passed() {
		action = "fail"
		j.emit(Event{Action: "output", Package: r.File, Test: r.Case, Output: failureText(r)})
	}
	j.emit(Event{Action: action, Package: r.File, Test: r.Case, Elapsed: r.Elapsed.Seconds()})
}

func (j *JSON) File(f *FileResult) {
	if f.Err != nil {
		j.emit(Event{Action: "output", Package: f.File, Output: f.Err.Error() + "\n"})
	}
	action := "pass"
	if !f.Passed() {
		action = "fail"
	}
	j.emit(Event{Action: action, Package: f.File, Elapsed: f.Elapsed.Seconds()})
}

// The JUnit XML that CI systems read: a testsuite per file, a testcase per
// case, a failure per failing case, an error for a file that did not load.
type (
	junitSuites struct {
		XMLName  xml.Name     `xml:"testsuites"`
		Tests    int          `xml:"tests,attr"`
		Failures int          `xml:"failures,attr"`
		Errors   int          `xml:"errors,attr"`
		Time     string       `xml:"time,attr"`
		Suites   []junitSuite `xml:"testsuite"`
	}
	junitSuite struct {
		Name     string      `xml:"name,attr"`
		Tests    int         `xml:"tests,attr"`
		Failures int         `xml:"failures,attr"`
		Errors   int         `xml:"errors,attr"`
		Time     string      `xml:"time,attr"`
		Cases    []junitCase `xml:"testcase"`
	}
	junitCase struct {
		Name      string        `xml:"name,attr"`
		Classname string        `xml:"classname,attr"`
		Time      string        `xml:"time,attr"`
		File      string        `xml:"file,attr,omitempty"`
		Line      int           `xml:"line,attr,omitempty"`
		Failure   *junitProblem `xml:"failure,omitempty"`
		Error     *junitProblem `xml:"error,omitempty"`
	}
	junitProblem struct {
		Message string `xml:"message,attr"`
		Type    string `xml:"type,attr"`
		Text    string `xml:",chardata"`
	}
)

// WriteJUnit writes the results of every file as JUnit XML.
func WriteJUnit(w io.Writer, files []*FileResult) error {
	var all junitSuites
	var total time.Duration
	for _, f := range files {
		s := junitSuite{Name: f.File, Time: secs(f.Elapsed)}
		if f.Err != nil {
			s.Errors++
			s.Cases = append(s.Cases, junitCase{Name: "(load)", Classname: f.File, Time: secs(0),
				Error: &junitProblem{Message: "the test file or its mesh has errors", Type: "load", Text: f.Err.Error()}})
		}
		for i := range f.Results {
			r := &f.Results[i]
			c := junitCase{Name: r.Case, Classname: f.File, Time: secs(r.Elapsed), File: r.Pos.Filename(), Line: r.Pos.Line()}
			if !r.Passed() {
				s.Failures++
				first := r.Failures[0]
				c.Failure = &junitProblem{Message: posText(first) + ": " + first.Message, Type: "expectation", Text: failureText(r)}
			}
			s.Cases = append(s.Cases, c)
		}
		s.Tests = len(s.Cases)
		all.Tests, all.Failures, all.Errors = all.Tests+s.Tests, all.Failures+s.Failures, all.Errors+s.Errors
		total += f.Elapsed
		all.Suites = append(all.Suites, s)
	}
	all.Time = secs(total)
	if _, err := io.WriteString(w, xml.Header); err != nil {
		return err
	}
	enc := xml.NewEncoder(w)
	enc.Indent("", "  ")
	if err := enc.Encode(all); err != nil {
		return err
	}
	_, err := io.WriteString(w, "\n")
	return err
}

func secs(d time.Duration) string { return fmt.Sprintf("%.3f", d.Seconds()) }
