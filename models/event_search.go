package models

import (
	"context"
	"database/sql"
	"errors"
	"strings"
	"time"
	"unicode"

	"gorm.io/gorm"
)

// Search is a case-insensitive substring of an event's title, description
// or location, where "case" means the letters A to Z: both databases fold
// only those (SQLite's lower() and LIKE know no others, and PostgreSQL
// lower-cases under the "C" collation to agree), so é and É are different
// letters on both and every search finds the same events on both.
//
// A term the trigram indexes serve (three letters or digits in a row) first
// asks the index how many events might match, counting no further than
// fewMatches. Fewer than that, and the page is those candidates, filtered
// and sorted: a rare term, or one no event has, costs the same at a million
// events as at a thousand. More, and the term is common: each segment of
// the listing is read in page order, the index the listing itself uses,
// for at most a window of events, which a common term fills at once; what
// the window leaves is looked up in the index past it.
//
// A term the indexes cannot serve (one or two characters, or punctuation)
// reads at most scanWindow events of a segment in page order and ends the
// page where it stopped, with a cursor to go on from there: such a page
// may be short, or empty, and still have a next one. No search reads more than a
// bounded number of rows it may not return, whatever the size of the table.
const (
	// fewMatches is how many candidates the index may give for a term to
	// be looked up in the index alone.
	fewMatches = 1000
	// searchWindow is how many events of a segment a common term reads in
	// page order before it asks the index.
	searchWindow = 1000
	// scanWindow is how many events one page of a search the index cannot
	// serve reads at most. In the pages' order those rows are spread over
	// the file at a million events (random reads); 2,000 made such a page
	// 5.4x slower than at a thousand events, 500 keeps it near 1x.
	scanWindow = 500
)

// search is one search term, prepared.
type search struct {
	like  string // a LIKE pattern matching the term anywhere, A-Z lower-cased
	match string // an FTS5 phrase for the term, "" when no index serves it
	few   bool   // the index gives fewer than fewMatches candidates
}

func newSearch(term string) search {
	s := search{like: "%" + escapeLike(asciiLower(term)) + "%"}
	if indexable(term) {
		s.match = `"` + strings.ReplaceAll(term, `"`, `""`) + `"`
	}
	return s
}

// indexable reports whether the trigram indexes narrow a search for term
// down: it must hold three letters or digits in a row. SQLite's trigrams
// would take any three characters, but PostgreSQL's pg_trgm builds its
// trigrams from the words of the pattern only (punctuation and spaces
// split them), and shorter words give trigrams that nearly every event has.
// One rule for both keeps their plans, and so their pages, the same.
func indexable(term string) bool {
	run := 0
	for _, r := range term {
		if unicode.IsLetter(r) || unicode.IsDigit(r) {
			if run++; run >= 3 {
				return true
			}
		} else {
			run = 0
		}
	}
	return false
}

// asciiLower lower-cases A-Z and leaves every other character as it is.
func asciiLower(s string) string {
	b := []byte(s)
	for i, c := range b {
		if 'A' <= c && c <= 'Z' {
			b[i] = c + 'a' - 'A'
		}
	}
	return string(b)
}

// escapeLike makes the user's text match literally inside LIKE.
func escapeLike(s string) string {
	return strings.NewReplacer(`\`, `\\`, `%`, `\%`, `_`, `\_`).Replace(s)
}

// matches adds the search's own condition: LIKE on the three columns,
// lower-cased the same way on both databases.
func (sr search) matches(tx *gorm.DB) *gorm.DB {
	col := func(c string) string { return "LOWER(events." + c + ")" }
	if isPostgres(tx) {
		col = func(c string) string { return "LOWER(events." + c + ` COLLATE "C")` }
	}
	return tx.Where("("+col("title")+` LIKE @q ESCAPE '\' OR `+col("description")+` LIKE @q ESCAPE '\' OR `+
		col("location")+` LIKE @q ESCAPE '\')`, map[string]any{"q": sr.like})
}

// prepareSearch counts the index's candidates for a term it serves.
func (s *Events) prepareSearch(ctx context.Context, sr *search) error {
	if sr.match == "" {
		return nil
	}
	var probe *gorm.DB
	if isPostgres(s.db) {
		probe = sr.matches(prepared(ctx, s.db).Table("events").Select("1"))
	} else {
		probe = prepared(ctx, s.db).Table("events_search").Select("1").Where("events_search MATCH ?", sr.match)
	}
	var n int
	err := scanRow(prepared(ctx, s.db).Table("(?) AS candidates", probe.Limit(s.few)).Select("COUNT(*)"), &n)
	if err != nil {
		return translate("search events", err)
	}
	sr.few = n < s.few
	return nil
}

// searchRows reads up to n events of one segment that match sr, past at in
// the walk's direction (see the comment on fewMatches). stop is where a
// search the index cannot serve reached the end of its window.
func (s *Events) searchRows(ctx context.Context, sr *search, q EventQuery, seg segment, now time.Time, at *listKey, backward bool, n int) ([]Event, *listKey, error) {
	l := listing{q: q, seg: seg, now: now, backward: backward}
	if sr.few {
		return s.indexRows(ctx, sr, l, at, n)
	}
	window := s.window
	if sr.match == "" {
		window = s.scanWindow
	}

	// The window: the next events in page order, then those that match.
	// SQLite reads the window as a co-routine in its order and, with
	// nested loops only, keeps that order: sorting again would read the
	// whole window first (TestListQueryPlansScale checks the plan).
	inner, err := l.where(s.db.WithContext(ctx).Table("events").Select("events.*"), at)
	if err != nil {
		return nil, nil, err
	}
	tx := sr.matches(prepared(ctx, s.db).Table("(?) AS events", l.order(inner).Limit(window)).
		Select(eventSelect).Joins(eventCreatorJoin))
	if isPostgres(s.db) {
		tx = l.order(tx) // PostgreSQL knows the window's order and keeps it without a sort
	}
	rows, err := readEvents(tx.Limit(n))
	if err != nil {
		return nil, nil, translate("search events", err)
	}
	if len(rows) >= n {
		return rows, nil, nil
	}

	// Where the window ended; nothing there means the segment did, and
	// the next segment gets a window of its own.
	last, err := l.where(prepared(ctx, s.db).Table("events").Select("events.id, events.starts_at"), at)
	if err != nil {
		return nil, nil, err
	}
	var end listKey
	var start sql.NullTime
	err = scanRow(l.order(last).Offset(window-1).Limit(1), &end.id, &start)
	switch {
	case errors.Is(err, sql.ErrNoRows):
		return rows, nil, nil
	case err != nil:
		return nil, nil, translate("search events", err)
	}
	end.start = nullTime(start)
	if sr.match == "" {
		return rows, &end, nil
	}
	more, _, err := s.indexRows(ctx, sr, l, &end, n-len(rows))
	if err != nil {
		return nil, nil, err
	}
	return append(rows, more...), nil, nil
}

// indexRows reads up to n events of the listing that match sr, past at,
// through the index: only the index's candidates are read and sorted.
func (s *Events) indexRows(ctx context.Context, sr *search, l listing, at *listKey, n int) ([]Event, *listKey, error) {
	var ix *gorm.DB
	if isPostgres(s.db) {
		ix = eventQuery(ctx, s.db) // the GIN indexes serve the LIKE itself
	} else {
		// CROSS JOIN makes SQLite read the FTS5 table first.
		ix = prepared(ctx, s.db).Table("events_search CROSS JOIN events ON events.id = events_search.rowid").
			Select(eventSelect).Joins(eventCreatorJoin).Where("events_search MATCH ?", sr.match)
	}
	ix, err := l.where(ix, at)
	if err != nil {
		return nil, nil, err
	}
	rows, err := readEvents(l.order(sr.matches(ix)).Limit(n))
	if err != nil {
		return nil, nil, translate("search events", err)
	}
	return rows, nil, nil
}

// scanRow reads the one row tx selects into dest, or returns
// sql.ErrNoRows. (GORM's Row hands back a row that panics on Scan when a
// prepared statement fails inside a transaction, as a cancelled one does.)
func scanRow(tx *gorm.DB, dest ...any) error {
	rows, err := tx.Rows()
	if err != nil {
		return err
	}
	defer rows.Close()
	if !rows.Next() {
		if err := rows.Err(); err != nil {
			return err
		}
		return sql.ErrNoRows
	}
	if err := rows.Scan(dest...); err != nil {
		return err
	}
	return rows.Close()
}
