package planner

import (
	"encoding/json"
	"fmt"
	"io"
	"strings"
)

// WriteText writes d for a terminal: one line per change, one indented line
// per changed field, old -> new.
func (d Diff) WriteText(w io.Writer) error {
	if d.Empty() {
		_, err := fmt.Fprintln(w, "no changes")
		return err
	}
	var b strings.Builder
	for _, c := range d.Changes {
		fmt.Fprintf(&b, "%s %s%s\n", c.Action, c.What, restartNote(c))
		for _, f := range c.Fields {
			fmt.Fprintf(&b, "    %s: %s -> %s\n", f.Path, f.Old, f.New)
		}
	}
	_, err := io.WriteString(w, b.String())
	return err
}

// WriteMarkdown writes d as a table for a pull-request comment.
func (d Diff) WriteMarkdown(w io.Writer) error {
	if d.Empty() {
		_, err := fmt.Fprintln(w, "No changes to the deployment.")
		return err
	}
	var b strings.Builder
	b.WriteString("| change | what | restarts | details |\n| --- | --- | --- | --- |\n")
	for _, c := range d.Changes {
		var details []string
		for _, f := range c.Fields {
			cell := fmt.Sprintf("`%s`: `%s` → `%s`", f.Path, f.Old, f.New)
			details = append(details, strings.ReplaceAll(cell, "|", `\|`))
		}
		restart := "no"
		if c.Restart {
			restart = "yes"
		}
		fmt.Fprintf(&b, "| %s | %s | %s | %s |\n", c.Action, c.What, restart, strings.Join(details, "<br>"))
	}
	_, err := io.WriteString(w, b.String())
	return err
}

// WriteJSON writes d as indented JSON, for tools.
func (d Diff) WriteJSON(w io.Writer) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(d)
}

func restartNote(c Change) string {
	switch {
	case c.Action != "changed":
		return ""
	case c.Restart:
		return " (restarts instances)"
	default:
		return " (no restart)"
	}
}
