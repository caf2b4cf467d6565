package main

import (
	"fmt"
	"io"
	"strings"
)

// The table's database columns, in order.
const (
	colSQLite = iota
	colPostgres
	nCols
)

// colNames are the headings of the database columns.
var colNames = [nCols]string{"SQLite", "PostgreSQL"}

// cell is one figure of the table: its text and, when it is judged against
// the line's target, whether it met it (nil: a reference figure).
type cell struct {
	text string
	ok   *bool
}

// line is one line of the table: a workload measured on each database,
// and the target its figures are judged against.
type line struct {
	workload string
	cells    [nCols]cell
	target   string
}

func yes(v bool) *bool { return &v }

// verdict says whether the line's judged figures met its target: "" when
// nothing is judged, "met" when every judged figure met it, "MISSED" when
// every one missed, else "MISSED (PostgreSQL)" naming the columns that
// missed.
func (l line) verdict() string {
	var judged, missed []string
	for i, c := range l.cells {
		if c.ok == nil {
			continue
		}
		judged = append(judged, colNames[i])
		if !*c.ok {
			missed = append(missed, colNames[i])
		}
	}
	switch {
	case len(judged) == 0:
		return ""
	case len(missed) == 0:
		return "met"
	case len(missed) == len(judged):
		return "MISSED"
	default:
		return "MISSED (" + strings.Join(missed, ", ") + ")"
	}
}

// tally counts the lines whose target was met and those that missed it.
func tally(lines []line) (met, missed int) {
	for _, l := range lines {
		switch v := l.verdict(); {
		case v == "met":
			met++
		case v != "":
			missed++
		}
	}
	return met, missed
}

// printTable writes lines as one Markdown table with aligned columns, so
// it reads in a terminal and pastes into the README as it is. Empty cells
// print as "—".
func printTable(w io.Writer, lines []line) {
	head := []string{"workload", colNames[colSQLite], colNames[colPostgres], "target", "met"}
	rows := [][]string{head}
	for _, l := range lines {
		r := []string{l.workload}
		for _, c := range l.cells {
			r = append(r, orDash(c.text))
		}
		rows = append(rows, append(r, orDash(l.target), l.verdict()))
	}
	width := make([]int, len(head))
	for _, r := range rows {
		for i, c := range r {
			width[i] = max(width[i], len([]rune(c)))
		}
	}
	out := func(r []string) {
		var sb strings.Builder
		sb.WriteString("|")
		for i, c := range r {
			sb.WriteString(" " + c + strings.Repeat(" ", width[i]-len([]rune(c))) + " |")
		}
		fmt.Fprintln(w, sb.String())
	}
	out(rows[0])
	sep := make([]string, len(head))
	for i := range sep {
		sep[i] = strings.Repeat("-", width[i]+2)
	}
	fmt.Fprintln(w, "|"+strings.Join(sep, "|")+"|")
	for _, r := range rows[1:] {
		out(r)
	}
}

func orDash(s string) string {
	if s == "" {
		return "—"
	}
	// A pipe would end the Markdown cell.
	return strings.ReplaceAll(s, "|", "/")
}

// merge joins the lines of one workload measured on each database, which
// the workloads append one database at a time, into one line each, in the
// order each workload first appears. Lines are the same workload when
// their workload and target read the same.
func merge(lines []line) []line {
	var out []line
	at := map[[2]string]int{}
	for _, l := range lines {
		k := [2]string{l.workload, l.target}
		i, seen := at[k]
		if !seen {
			at[k] = len(out)
			out = append(out, l)
			continue
		}
		for c := range l.cells {
			if l.cells[c] != (cell{}) {
				out[i].cells[c] = l.cells[c]
			}
		}
	}
	return out
}
