package models_test

import (
	"context"
	"errors"
	"fmt"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/planner/planner/models"
	"github.com/planner/planner/models/dbtest"
	"gorm.io/gorm"
)

// searchFixture is one event of the side-by-side data.
type searchFixture struct {
	title, description, location string
}

var searchFixtures = []searchFixture{
	{"Go meetup", "Talks about Go and gophers", "Town hall"},
	{"GOPHER con", "", "Berlin"},
	{"Café Über", "crème brûlée", "Zürich"},
	{"CAFÉ ÜBER", "CRÈME BRÛLÉE", "ZÜRICH"},
	{"Straße fest", "", "Köln"},
	{"50% off sale", "everything must go", "Mall"},
	{"under_score day", "snake_case only", ""},
	{`back\slash night`, `C:\path\to`, ""},
	{`O'Reilly "quotes"`, `it's "quoted"`, ""},
	{"Ελληνικά ΣΣ", "σσ πάρτι", "Αθήνα"},
	{"İstanbul ışık", "IŞIK festivali", ""},
	{"日本語のイベント", "東京で", "東京"},
	{"a", "", ""},
	{"ab", "", ""},
	{"Zq", "", ""},
	{"emoji 🎉 party", "", ""},
	{"Hall of fame", "", "Hall 7"},
	{"x%y and x_y", "", ""},
	{"Plain", "nothing special", "nowhere"},
	{"Weekly go club", "", "Hall 1"},
	{"Meetup archive", "", ""},
	{"Gopher games", "go go go", ""},
	{"Quiet evening", "", "Library"},
	{"Last one", "meetup after", ""},
}

var searchTerms = []string{
	"go", "GO", "g", "o", "Go ", "  meetup  ", "MEETUP", "eetu", "gopher",
	"café", "CAFÉ", "é", "É", "über", "ÜBER", "crème", "straße", "STRASSE", "köln",
	"%", "50%", "_", "under_score", "r_s", "x_y", "x%y", `\`, `back\slash`, `\path`,
	"'", `"`, `"quotes"`, `O'Reilly`, `it's`, "σσ", "ΣΣ", "ışık", "IŞIK", "İst", "日本", "日本語", "東京",
	"🎉", "a", "ab", "zq", "ZQ", "hall", "hall 7", "nomatch", "e", "ee", "  ", "l o", "!!!", "...",
}

// fold is the search's meaning, written out: A-Z match either case, every
// other character itself.
func fold(s string) string {
	return strings.Map(func(r rune) rune {
		if 'A' <= r && r <= 'Z' {
			return r + 'a' - 'A'
		}
		return r
	}, s)
}

func loadSearchFixtures(t *testing.T, db *gorm.DB) (ada, admin *models.User, s *models.Events) {
	t.Helper()
	ctx := context.Background()
	ada = mkUser(t, db, "ada@example.com", models.RoleUser)
	bob := mkUser(t, db, "bob@example.com", models.RoleUser)
	admin = mkUser(t, db, "root@example.com", models.RoleAdmin)
	s = models.NewEvents(db)
	for i, f := range searchFixtures {
		in := models.EventInput{Title: f.title, Description: f.description, Location: f.location, Visibility: "public"}
		if i%4 == 1 {
			in.Visibility = "private"
		}
		if i%3 != 0 {
			in.StartsAt = at((i%7)*10 - 30)
		}
		if i%2 == 0 {
			in.Tags = []string{"go"}
		}
		in.Normalize()
		if errs := in.Validate(); len(errs) > 0 {
			t.Fatalf("invalid fixture %q: %v", f.title, errs)
		}
		creator := ada.ID
		if i%5 == 2 {
			creator = bob.ID
		}
		if _, err := s.Create(ctx, creator, in); err != nil {
			t.Fatal(err)
		}
	}
	// One written around the store, as an import or another tool would.
	if err := db.Exec(`INSERT INTO events (creator_id, title, description, location, starts_at, visibility, created_at, updated_at)
		VALUES (?, 'Plain SQL go meetup', 'written by hand', 'Hall 9', ?, 'public', ?, ?)`,
		bob.ID, *at(5), *at(-100), *at(-100)).Error; err != nil {
		t.Fatal(err)
	}
	return ada, admin, s
}

// listAll pages through q forward and returns the ids in page order; then
// pages back from the last page and checks the way back finds the same.
func listAll(t *testing.T, s *models.Events, q models.EventQuery) []uint {
	t.Helper()
	ctx := context.Background()
	var ids []uint
	var pages [][]uint
	var last models.EventPage
	for n := 0; ; n++ {
		if n > 200 {
			t.Fatalf("%+v: more than 200 pages", q)
		}
		p, err := s.List(ctx, q)
		if err != nil {
			t.Fatalf("%+v: %v", q, err)
		}
		var page []uint
		for _, e := range p.Events {
			page = append(page, e.ID)
		}
		ids = append(ids, page...)
		pages = append(pages, page)
		last = p
		if p.Next == "" {
			break
		}
		q.After = p.Next
	}
	// Back from the last page to the first.
	var back []uint
	q.After = ""
	for cur := last.Prev; cur != ""; {
		q.Before = cur
		p, err := s.List(ctx, q)
		if err != nil {
			t.Fatalf("%+v: %v", q, err)
		}
		var page []uint
		for _, e := range p.Events {
			page = append(page, e.ID)
		}
		back = append(page, back...)
		cur = p.Prev
	}
	if want := ids[:len(ids)-len(pages[len(pages)-1])]; len(pages) > 1 && !reflect.DeepEqual(back, want) && !(len(back) == 0 && len(want) == 0) {
		t.Errorf("%+v: paging back found %v, forward %v", q, back, want)
	}
	return ids
}

// TestSearchSameOnBothDatabases loads the same events into SQLite and
// PostgreSQL and runs every search in every listing on both: the ids, in
// page order, must be the same on both and the same as the search's
// meaning (fold, above) applied to the listing without a search. Small
// bounds make these few events take every path: the index alone, the
// window and the index after it, and the bounded scan that ends a page
// early.
func TestSearchSameOnBothDatabases(t *testing.T) {
	type side struct {
		ada, admin *models.User
		events     *models.Events
		byID       map[uint]searchFixture
	}
	open := func(db *gorm.DB) side {
		ada, admin, s := loadSearchFixtures(t, db)
		byID := map[uint]searchFixture{}
		rows, err := db.Raw("SELECT id, title, description, location FROM events").Rows()
		if err != nil {
			t.Fatal(err)
		}
		defer rows.Close()
		for rows.Next() {
			var id uint
			var f searchFixture
			if err := rows.Scan(&id, &f.title, &f.description, &f.location); err != nil {
				t.Fatal(err)
			}
			byID[id] = f
		}
		return side{ada, admin, s, byID}
	}
	lite, pg := open(dbtest.SQLite(t)), open(dbtest.Postgres(t))
	if !reflect.DeepEqual(lite.byID, pg.byID) {
		t.Fatal("the two databases hold different events")
	}
	type variant struct {
		name              string
		few, window, scan int
		viewer            func(side) (*models.User, bool)
		order             models.EventOrder
		tag               string
		limit             int
	}
	var variants []variant
	viewers := map[string]func(side) (*models.User, bool){
		"anonymous": func(side) (*models.User, bool) { return nil, false },
		"user":      func(s side) (*models.User, bool) { return s.ada, false },
		"admin":     func(s side) (*models.User, bool) { return s.admin, true },
	}
	for vn, v := range viewers {
		for _, o := range []models.EventOrder{models.OrderID, models.OrderUpcoming, models.OrderNewest, models.OrderBrowse} {
			variants = append(variants,
				variant{name: fmt.Sprintf("%s/order%d/small", vn, o), few: 2, window: 4, scan: 3, viewer: v, order: o, limit: 3},
				variant{name: fmt.Sprintf("%s/order%d", vn, o), few: 1000, window: 1000, scan: 2000, viewer: v, order: o, limit: 2})
		}
	}
	variants = append(variants,
		variant{name: "user/browse/tag", few: 1, window: 3, scan: 2, viewer: viewers["user"], order: models.OrderBrowse, tag: "GO", limit: 2},
		variant{name: "user/browse/window", few: 1, window: 5, scan: 7, viewer: viewers["user"], order: models.OrderBrowse, limit: 4},
		variant{name: "anonymous/id/tag", few: 1000, window: 1000, scan: 2000, viewer: viewers["anonymous"], order: models.OrderID, tag: "go", limit: 50})

	now := *at(0)
	for _, v := range variants {
		for _, sd := range []side{lite, pg} {
			models.SetSearchBounds(sd.events, v.few, v.window, v.scan)
		}
		query := func(sd side, term string) models.EventQuery {
			u, all := v.viewer(sd)
			return models.EventQuery{Viewer: u, AllPrivate: all, Q: term, Tag: v.tag, Order: v.order, Limit: v.limit, Now: now}
		}
		everything := listAll(t, lite.events, query(lite, ""))
		if got := listAll(t, pg.events, query(pg, "")); !reflect.DeepEqual(got, everything) {
			t.Fatalf("%s: listings differ without a search: sqlite %v, postgres %v", v.name, everything, got)
		}
		for _, term := range searchTerms {
			var want []uint
			needle := fold(strings.TrimSpace(term))
			for _, id := range everything {
				f := lite.byID[id]
				if needle == "" || strings.Contains(fold(f.title), needle) || strings.Contains(fold(f.description), needle) ||
					strings.Contains(fold(f.location), needle) {
					want = append(want, id)
				}
			}
			gotLite := listAll(t, lite.events, query(lite, term))
			gotPG := listAll(t, pg.events, query(pg, term))
			if !reflect.DeepEqual(gotLite, gotPG) {
				t.Errorf("%s, q=%q: sqlite %v, postgres %v", v.name, term, gotLite, gotPG)
			}
			if !reflect.DeepEqual(gotLite, want) && !(len(gotLite) == 0 && len(want) == 0) {
				t.Errorf("%s, q=%q: found %v, want %v", v.name, term, gotLite, want)
			}
		}
	}
}

// TestSearchSeesEveryWrite writes events with plain SQL, around the store:
// the index the database keeps finds them at once, and forgets what an
// update or a delete took away.
func TestSearchSeesEveryWrite(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, db *gorm.DB) {
		ctx := context.Background()
		u := mkUser(t, db, "ada@example.com", models.RoleUser)
		s := models.NewEvents(db)
		models.SetSearchBounds(s, 1000, 1, 1) // the index alone
		for i := range 5 {
			mkEvent(t, s, u.ID, fmt.Sprintf("Filler %d", i), nil, "public")
		}
		find := func(term string) []string {
			t.Helper()
			p, err := s.List(ctx, models.EventQuery{Q: term, Order: models.OrderID, Now: time.Now()})
			if err != nil {
				t.Fatal(err)
			}
			var titles []string
			for _, e := range p.Events {
				titles = append(titles, e.Title)
			}
			return titles
		}
		now := time.Now().UTC()
		if err := db.Exec(`INSERT INTO events (creator_id, title, description, location, visibility, created_at, updated_at)
			VALUES (?, 'Imported Zebra night', 'from the old system', 'Barn', 'public', ?, ?)`, u.ID, now, now).Error; err != nil {
			t.Fatal(err)
		}
		if got := find("zebra"); !reflect.DeepEqual(got, []string{"Imported Zebra night"}) {
			t.Errorf("after insert: zebra finds %v", got)
		}
		if got := find("old system"); len(got) != 1 {
			t.Errorf("after insert: description search finds %v", got)
		}
		if err := db.Exec(`UPDATE events SET title = 'Imported Okapi night', location = 'Stable' WHERE title = 'Imported Zebra night'`).Error; err != nil {
			t.Fatal(err)
		}
		if got := find("zebra"); len(got) != 0 {
			t.Errorf("after update: zebra still finds %v", got)
		}
		if got := find("OKAPI"); !reflect.DeepEqual(got, []string{"Imported Okapi night"}) {
			t.Errorf("after update: okapi finds %v", got)
		}
		if got := find("stable"); len(got) != 1 {
			t.Errorf("after update: location search finds %v", got)
		}
		if err := db.Exec(`DELETE FROM events WHERE title = 'Imported Okapi night'`).Error; err != nil {
			t.Fatal(err)
		}
		if got := find("okapi"); len(got) != 0 {
			t.Errorf("after delete: okapi still finds %v", got)
		}
		if got := find("filler"); len(got) != 5 {
			t.Errorf("filler finds %v", got)
		}
	})
}

// TestSearchScanWaitsNoLongerThanItsRequest holds every scan slot: a
// search that would scan gives up with ErrTimeout when its request's time is
// up, and one the index answers alone does not wait at all.
func TestSearchScanWaitsNoLongerThanItsRequest(t *testing.T) {
	db := dbtest.SQLite(t)
	u := mkUser(t, db, "ada@example.com", models.RoleUser)
	s := models.NewEvents(db)
	mkEvent(t, s, u.ID, "Okapi evening", nil, "public")
	release := models.HoldScanSlots(db)
	held := true
	defer func() {
		if held {
			release()
		}
	}()
	ctx, cancel := context.WithTimeout(context.Background(), 50*time.Millisecond)
	defer cancel()
	if _, err := s.List(ctx, models.EventQuery{Q: "ok", Now: time.Now()}); !errors.Is(err, models.ErrTimeout) {
		t.Errorf("a short search with every slot taken = %v, want ErrTimeout", err)
	}
	p, err := s.List(context.Background(), models.EventQuery{Q: "okapi", Now: time.Now()})
	if err != nil || len(p.Events) != 1 {
		t.Errorf("a rare term with every slot taken = %v, %v; want the event at once", p.Events, err)
	}
	release()
	held = false
	if p, err := s.List(context.Background(), models.EventQuery{Q: "ok", Now: time.Now()}); err != nil || len(p.Events) != 1 {
		t.Errorf("a short search with the slots free = %v, %v", p.Events, err)
	}
}

// TestSearchIndexSharedBySchemas migrates two schemas of one PostgreSQL
// database, as the tests and several deployments do: both search through
// their own GIN indexes on the one pg_trgm, and dropping the first schema
// leaves the extension, and so the second one's search, in place.
func TestSearchIndexSharedBySchemas(t *testing.T) {
	ctx := context.Background()
	first, second := dbtest.Postgres(t), dbtest.Postgres(t)
	for _, db := range []*gorm.DB{first, second} {
		u := mkUser(t, db, "ada@example.com", models.RoleUser)
		s := models.NewEvents(db)
		models.SetSearchBounds(s, 1000, 1, 1)
		mkEvent(t, s, u.ID, "Okapi evening", nil, "public")
		if p, err := s.List(ctx, models.EventQuery{Q: "okapi", Now: time.Now()}); err != nil || len(p.Events) != 1 {
			t.Fatalf("search in a schema of its own: %v, %v", p.Events, err)
		}
	}
	var schema string
	if err := first.Raw("SELECT current_schema()").Scan(&schema).Error; err != nil || schema == "" {
		t.Fatalf("current schema: %q, %v", schema, err)
	}
	if err := second.Exec(`DROP SCHEMA "` + schema + `" CASCADE`).Error; err != nil {
		t.Fatal(err)
	}
	var where string
	if err := second.Raw("SELECT extnamespace::regnamespace::text FROM pg_extension WHERE extname = 'pg_trgm'").Scan(&where).Error; err != nil || where == "" || where == schema {
		t.Fatalf("pg_trgm lives in %q (%v), the dropped schema was %q", where, err, schema)
	}
	s := models.NewEvents(second)
	models.SetSearchBounds(s, 1000, 1, 1)
	if p, err := s.List(ctx, models.EventQuery{Q: "OKAPI", Now: time.Now()}); err != nil || len(p.Events) != 1 {
		t.Errorf("search after another schema was dropped: %v, %v", p.Events, err)
	}
}
