package main

import (
	"strings"
	"testing"
)

func TestVerdict(t *testing.T) {
	met, missed := cell{text: "x", ok: yes(true)}, cell{text: "x", ok: yes(false)}
	ref := cell{text: "x"}
	tests := []struct {
		name  string
		cells [nCols]cell
		want  string
	}{
		{"reference only", [nCols]cell{ref, ref}, ""},
		{"nothing measured", [nCols]cell{}, ""},
		{"both met", [nCols]cell{met, met}, "met"},
		{"only SQLite judged, met", [nCols]cell{met, {}}, "met"},
		{"only PostgreSQL judged, missed", [nCols]cell{{}, missed}, "MISSED"},
		{"both missed", [nCols]cell{missed, missed}, "MISSED"},
		{"PostgreSQL missed", [nCols]cell{met, missed}, "MISSED (PostgreSQL)"},
		{"SQLite missed", [nCols]cell{missed, met}, "MISSED (SQLite)"},
		{"SQLite missed, PostgreSQL a reference", [nCols]cell{missed, ref}, "MISSED"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := (line{cells: tt.cells}).verdict(); got != tt.want {
				t.Errorf("verdict = %q, want %q", got, tt.want)
			}
		})
	}
}

func TestTally(t *testing.T) {
	lines := []line{
		{cells: [nCols]cell{{ok: yes(true)}, {ok: yes(true)}}},
		{cells: [nCols]cell{{ok: yes(true)}, {ok: yes(false)}}},
		{cells: [nCols]cell{{ok: yes(false)}}},
		{cells: [nCols]cell{{text: "reference"}}},
	}
	if met, missed := tally(lines); met != 1 || missed != 2 {
		t.Errorf("tally = %d met, %d missed; want 1, 2", met, missed)
	}
}

// TestMerge: each workload appends one line per database; the table shows
// one line per workload with both columns, in first-seen order.
func TestMerge(t *testing.T) {
	lines := []line{
		on(colSQLite, "list", "≥ 50%", cell{text: "a", ok: yes(true)}),
		on(colSQLite, "  ref", "", cell{text: "b"}),
		on(colPostgres, "list", "≥ 50%", cell{text: "c", ok: yes(false)}),
		on(colPostgres, "  ref", "", cell{text: "d"}),
		on(colPostgres, "scale-out", "> 1", cell{text: "e", ok: yes(true)}),
		on(colSQLite, "list", "other target", cell{text: "f"}),
	}
	got := merge(lines)
	want := []struct{ workload, sqlite, postgres string }{
		{"list", "a", "c"}, {"  ref", "b", "d"}, {"scale-out", "", "e"}, {"list", "f", ""},
	}
	if len(got) != len(want) {
		t.Fatalf("merge gave %d lines, want %d: %+v", len(got), len(want), got)
	}
	for i, w := range want {
		g := got[i]
		if g.workload != w.workload || g.cells[colSQLite].text != w.sqlite || g.cells[colPostgres].text != w.postgres {
			t.Errorf("line %d = %q %q %q, want %q %q %q", i, g.workload, g.cells[colSQLite].text, g.cells[colPostgres].text,
				w.workload, w.sqlite, w.postgres)
		}
	}
	if v := got[0].verdict(); v != "MISSED (PostgreSQL)" {
		t.Errorf("merged list line verdict = %q, want MISSED (PostgreSQL)", v)
	}
}

// TestPrintTable: one Markdown table, every row as wide as the header,
// empty cells as a dash, no pipe inside a cell.
func TestPrintTable(t *testing.T) {
	var sb strings.Builder
	printTable(&sb, []line{
		on(colSQLite, "by id ÷ bare Echo", "≥ 50%", cell{text: "51,000/s, 52%", ok: yes(true)}),
		on(colPostgres, "2 instances ÷ 1", "> 1", cell{text: "a|b", ok: yes(false)}),
	})
	rows := strings.Split(strings.TrimSuffix(sb.String(), "\n"), "\n")
	if len(rows) != 4 {
		t.Fatalf("want header, rule and 2 rows, got %d:\n%s", len(rows), sb.String())
	}
	wantRows := [][]string{
		{"workload", "SQLite", "PostgreSQL", "target", "met"},
		nil,
		{"by id ÷ bare Echo", "51,000/s, 52%", "—", "≥ 50%", "met"},
		{"2 instances ÷ 1", "—", "a/b", "> 1", "MISSED"},
	}
	width := len([]rune(rows[0]))
	for i, r := range rows {
		if n := len([]rune(r)); n != width {
			t.Errorf("row %d is %d runes wide, header %d:\n%s", i, n, width, sb.String())
		}
		if !strings.HasPrefix(r, "|") || !strings.HasSuffix(r, "|") {
			t.Errorf("row %d is not a Markdown row: %q", i, r)
		}
		f := strings.Split(strings.Trim(r, "|"), "|")
		if len(f) != 5 {
			t.Errorf("row %d has %d cells, want 5: %q", i, len(f), r)
			continue
		}
		if wantRows[i] == nil {
			if strings.Trim(strings.Join(f, ""), "-") != "" {
				t.Errorf("rule row %q has more than dashes", r)
			}
			continue
		}
		for j, c := range f {
			if got := strings.TrimSpace(c); got != wantRows[i][j] {
				t.Errorf("row %d cell %d = %q, want %q", i, j, got, wantRows[i][j])
			}
		}
	}
}

func TestFormats(t *testing.T) {
	for _, tt := range []struct{ got, want string }{
		{count(0), "0"}, {count(999.4), "999"}, {count(1234567), "1,234,567"}, {count(1000), "1,000"},
		{pct(0.496), "50%"}, {pct(1.12), "112%"},
		{rateCell(result{Requests: 1100, Status: 100, DurationUS: 1e6}, "2.00× PocketBase", nil).text,
			"1,000/s, 2.00× PocketBase, 100 errors"},
		{rateCell(result{Requests: 500, DurationUS: 2e6}, "", nil).text, "250/s"},
	} {
		if tt.got != tt.want {
			t.Errorf("got %q, want %q", tt.got, tt.want)
		}
	}
}

func TestListedPath(t *testing.T) {
	var sb strings.Builder
	sb.WriteString("[")
	for i := range 50 {
		if i > 0 {
			sb.WriteString(",")
		}
		sb.WriteString(`{"id":` + count(float64(100+i)) + `,"title":"x"}`)
	}
	sb.WriteString("]")
	if got, err := listedPath([]byte(sb.String())); err != nil || got != "/api/event/124" {
		t.Errorf("listedPath = %q, %v; want /api/event/124", got, err)
	}
	if _, err := listedPath([]byte(`[{"id":1}]`)); err == nil {
		t.Error("listedPath of a one-event list: no error")
	}
	if _, err := listedPath([]byte(`{"detail":"x"}`)); err == nil {
		t.Error("listedPath of an error body: no error")
	}
}
