package models

import (
	"context"
	"database/sql"
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
// A search walks each segment of the listing in page order, the same index
// the listing uses, and reads at most a window of events there: a term that
// many events hold fills the page at once. When the window ends first, a
// term the index can serve (three letters or digits in a row) is looked up
// in it, past the window, and only its matches are sorted; the others (one
// or two characters, or punctuation) end the page where the window ended,
// with a cursor to go on from there. Either way no search reads more than a
// window of rows it may not return, whatever the size of the table.
const (
	// searchWindow is how many events a search reads in page order before
	// it asks the index.
	searchWindow = 1000
	// scanWindow is how many events one page of a search the index cannot
	// serve reads at most.
	scanWindow = 10000
)

// search is one search term, prepared.
type search struct {
	like  string // a LIKE pattern matching the term anywhere, A-Z lower-cased
	match string // an FTS5 phrase for the term, "" when no index serves it
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

// searchRows reads up to n events of one segment that match sr, past at in
// the walk's direction (see the comment on searchWindow).
func (s *Events) searchRows(ctx context.Context, sr search, q EventQuery, seg segment, now time.Time, at *listKey, backward bool, n int) ([]Event, *listKey, error) {
	l := listing{q: q, seg: seg, now: now, backward: backward}
	window := s.window
	if sr.match == "" {
		window = s.scanWindow
	}

	// The window: the next events in page order, then those that match.
	inner, err := l.where(s.db.WithContext(ctx).Table("events").Select("events.*"), at)
	if err != nil {
		return nil, nil, err
	}
	tx := prepared(ctx, s.db).Table("(?) AS events", l.order(inner).Limit(window)).
		Select(eventColumns).Joins(eventCreatorJoin)
	rows, err := readEvents(l.order(sr.matches(tx)).Limit(n))
	if err != nil {
		return nil, nil, translate("search events", err)
	}
	if len(rows) >= n {
		return rows, nil, nil
	}

	// Where the window ended; nothing there means the segment did.
	last, err := l.where(prepared(ctx, s.db).Table("events").Select("events.id, events.starts_at"), at)
	if err != nil {
		return nil, nil, err
	}
	var end listKey
	var start sql.NullTime
	err = l.order(last).Offset(window-1).Limit(1).Row().Scan(&end.id, &start)
	switch {
	case err == sql.ErrNoRows:
		return rows, nil, nil
	case err != nil:
		return nil, nil, translate("search events", err)
	}
	end.start = nullTime(start)
	if sr.match == "" {
		return rows, &end, nil
	}

	// The index, past the window: only the matches are read and sorted.
	var ix *gorm.DB
	if isPostgres(s.db) {
		ix = eventQuery(ctx, s.db) // the GIN indexes serve the LIKE itself
	} else {
		// CROSS JOIN makes SQLite read the FTS5 table first.
		ix = prepared(ctx, s.db).Table("events_search CROSS JOIN events ON events.id = events_search.rowid").
			Select(eventColumns).Joins(eventCreatorJoin).Where("events_search MATCH ?", sr.match)
	}
	if ix, err = l.where(ix, &end); err != nil {
		return nil, nil, err
	}
	more, err := readEvents(l.order(sr.matches(ix)).Limit(n - len(rows)))
	if err != nil {
		return nil, nil, translate("search events", err)
	}
	return append(rows, more...), nil, nil
}
