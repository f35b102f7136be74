package meshtest

import (
	"time"

	"github.com/meshc/meshc/lang"
	"github.com/meshc/meshc/planner/plan"
)

// Suite is one test file: its cases and the mesh they test.
type Suite struct {
	File string // the .meshtest file
	// Mesh is the .mesh file it tests, or the folder whose .mesh files
	// make that mesh; MeshFiles are the mesh's files.
	Mesh      string
	MeshFiles []string
	Sources   lang.Sources // every file read, for snippets
	Cases     []*Case
}

// Case is one test case, checked against its mesh and ready to run.
type Case struct {
	Name string
	Pos  lang.Pos
	// Timeout is the case's own; zero leaves it to Options.Timeout.
	Timeout time.Duration
	Params  map[string]string
	// Plan is the mesh compiled with the case's parameters.
	Plan        *plan.Plan
	State       []StateEntry // set before any instance starts
	Sends       []Send       // in the order written
	Expects     []*Expect
	StateWants  []StateEntry
	NothingElse bool // no other topic a function writes may hold anything
}

// Message is a message a case sends, or one it expects.
type Message struct {
	lang.Span
	Value      any // as the topic's codec encodes it; nil for none
	Key        *string
	Properties map[string]string
	EventTime  time.Time
	// Reason, for a dead-letter topic, must be part of the reason the
	// runtime gave.
	Reason *string
}

// Send is the messages a case writes to one topic.
type Send struct {
	At       lang.Span
	Topic    plan.Topic
	Messages []Message
}

// Order is how the messages of a topic must arrive.
type Order string

const (
	Exact    Order = "exact" // all of them, in the order written
	AnyOrder Order = "any"   // all of them, in any order
	KeyOrder Order = "key"   // all of them, in the order written among those of one key
)

// Expect is what one topic must hold after the run.
type Expect struct {
	At       lang.Span // the topic's name in the expectation
	Topic    plan.Topic
	Order    Order
	Messages []Message
}

// StateEntry is one key of a function's state: a value or a counter.
type StateEntry struct {
	lang.Span
	Function string
	Key      string
	Value    *string
	Counter  *int64
}
