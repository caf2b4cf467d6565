package models_test

import (
	"context"
	"errors"
	"fmt"
	"reflect"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/planner/planner/models"
	"github.com/planner/planner/models/dbtest"
	"gorm.io/gorm"
	"gorm.io/gorm/schema"
)

// eachDialect runs f on SQLite and on PostgreSQL; newDB opens another
// empty, unmigrated database of that kind each time it is called.
func eachDialect(t *testing.T, f func(t *testing.T, newDB func() *gorm.DB)) {
	t.Run("sqlite", func(t *testing.T) {
		f(t, func() *gorm.DB { return openSQLite(t, dbtest.SQLiteURL(t)) })
	})
	t.Run("postgres", func(t *testing.T) {
		f(t, func() *gorm.DB { return openSQLite(t, dbtest.PostgresURL(t)) }) // openSQLite opens any URL
	})
}

// TestFreshAndAdoptedSchemasMatch makes one database with the migrations
// and one the way the last release did (GORM's AutoMigrate and its trigger
// code, frozen below), with data in it, then migrates the second: both
// must end with the same catalogue, and the data must be intact and usable.
func TestFreshAndAdoptedSchemasMatch(t *testing.T) {
	ctx := context.Background()
	eachDialect(t, func(t *testing.T, newDB func() *gorm.DB) {
		fresh := newDB()
		if err := models.Migrate(ctx, fresh); err != nil {
			t.Fatalf("migrate fresh: %v", err)
		}
		old := newDB()
		legacyMigrate(t, old)
		seedLegacy(t, old)
		before := tableDump(t, old)
		applied, err := models.ApplyMigrations(ctx, old)
		if err != nil {
			t.Fatalf("migrate adopted: %v", err)
		}
		if len(applied) == 0 || applied[0].Name != "00001_initial.sql" {
			t.Errorf("adoption applied %v, want 00001_initial.sql first", applied)
		}
		if after := tableDumpLike(t, old, before); !reflect.DeepEqual(before, after) {
			t.Errorf("data changed by adoption:\nbefore %v\nafter  %v", before, after)
		}
		want, got := catalogue(t, fresh), catalogue(t, old)
		for _, k := range sortedKeys(want, got) {
			if want[k] != got[k] {
				t.Errorf("catalogue differs at %s:\n fresh:   %q\n adopted: %q", k, want[k], got[k])
			}
		}
		if len(want) < 20 {
			t.Errorf("catalogue has only %d entries; the comparison reads too little", len(want))
		}

		// The adopted database works: triggers bump the events version,
		// sequences go on after the old rows.
		events := models.NewEvents(old)
		v0, err := events.Version(ctx)
		if err != nil {
			t.Fatal(err)
		}
		if err := old.Exec("UPDATE events SET title = 'Renamed' WHERE title = 'Launch'").Error; err != nil {
			t.Fatal(err)
		}
		if v1, _ := events.Version(ctx); v1 <= v0 {
			t.Errorf("events version %d after an update, was %d: triggers lost", v1, v0)
		}
		u, err := models.NewUsers(old).Create(ctx, "new@example.com", "", testHash, models.RoleUser)
		if err != nil {
			t.Fatalf("create a user after adoption: %v", err)
		}
		if u.ID <= 2 {
			t.Errorf("new user got id %d, reusing an old row's", u.ID)
		}
	})
}

// TestMigrateStatusAndVersions checks the status list and that a second
// run applies nothing.
func TestMigrateStatusAndVersions(t *testing.T) {
	ctx := context.Background()
	eachDialect(t, func(t *testing.T, newDB func() *gorm.DB) {
		db := newDB()
		list, err := models.Migrations(ctx, db)
		if err != nil {
			t.Fatal(err)
		}
		if len(list) == 0 || list[0].Name != "00001_initial.sql" || list[0].Applied {
			t.Fatalf("status of an empty database = %+v, want 00001_initial.sql pending", list)
		}
		if err := models.CheckSchema(ctx, db); !errors.Is(err, models.ErrSchemaBehind) {
			t.Errorf("CheckSchema on an empty database = %v, want ErrSchemaBehind", err)
		}
		applied, err := models.ApplyMigrations(ctx, db)
		if err != nil || len(applied) != len(list) {
			t.Fatalf("first run applied %v (%v), want all %d", applied, err, len(list))
		}
		again, err := models.ApplyMigrations(ctx, db)
		if err != nil || len(again) != 0 {
			t.Errorf("second run applied %v (%v), want nothing", again, err)
		}
		if err := models.CheckSchema(ctx, db); err != nil {
			t.Errorf("CheckSchema after migrating = %v", err)
		}
		list, err = models.Migrations(ctx, db)
		if err != nil {
			t.Fatal(err)
		}
		for _, m := range list {
			if !m.Applied || m.AppliedAt.IsZero() || time.Since(m.AppliedAt) > time.Hour {
				t.Errorf("after migrating: %+v", m)
			}
		}
		current, latest, err := models.SchemaVersions(ctx, db)
		if err != nil || current != latest || latest != list[len(list)-1].Version {
			t.Errorf("SchemaVersions = %d, %d, %v", current, latest, err)
		}
	})
}

// TestNewerSchemaRefused plays a database migrated by a later binary: this
// one must neither migrate it nor pass CheckSchema, and must change nothing.
func TestNewerSchemaRefused(t *testing.T) {
	ctx := context.Background()
	eachDialect(t, func(t *testing.T, newDB func() *gorm.DB) {
		db := newDB()
		if err := models.Migrate(ctx, db); err != nil {
			t.Fatal(err)
		}
		_, latest, err := models.SchemaVersions(ctx, db)
		if err != nil {
			t.Fatal(err)
		}
		if err := db.Exec("INSERT INTO goose_db_version (version_id, is_applied) VALUES (?, ?)", latest+1, true).Error; err != nil {
			t.Fatal(err)
		}
		if _, err := models.ApplyMigrations(ctx, db); !errors.Is(err, models.ErrSchemaNewer) {
			t.Errorf("ApplyMigrations on a newer schema = %v, want ErrSchemaNewer", err)
		}
		err = models.CheckSchema(ctx, db)
		if !errors.Is(err, models.ErrSchemaNewer) || !strings.Contains(err.Error(), fmt.Sprint(latest+1)) {
			t.Errorf("CheckSchema on a newer schema = %v, want ErrSchemaNewer naming version %d", err, latest+1)
		}
		list, err := models.Migrations(ctx, db)
		if err != nil {
			t.Fatal(err)
		}
		var rows int64
		db.Raw("SELECT count(*) FROM goose_db_version").Scan(&rows)
		if want := int64(len(list)) + 2; rows != want { // version 0, every migration, the newer one
			t.Errorf("goose_db_version has %d rows, want %d", rows, want)
		}
	})
}

// TestModelsMatchSchema fails when a GORM model has a field with no column
// in the migrated schema, or the schema has a required column (NOT NULL,
// no default) that no field fills: a model change without a migration.
func TestModelsMatchSchema(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, db *gorm.DB) {
		for _, m := range models.SchemaModels {
			stmt := &gorm.Statement{DB: db}
			if err := stmt.Parse(m); err != nil {
				t.Fatal(err)
			}
			table := stmt.Schema.Table
			cols, err := db.Migrator().ColumnTypes(m)
			if err != nil {
				t.Fatalf("%s: %v", table, err)
			}
			byName := map[string]gorm.ColumnType{}
			for _, c := range cols {
				byName[c.Name()] = c
			}
			fields := map[string]*schema.Field{}
			for _, f := range stmt.Schema.Fields {
				if f.DBName == "" {
					continue // a relation, not a column
				}
				fields[f.DBName] = f
				if _, ok := byName[f.DBName]; !ok {
					t.Errorf("%s.%s (field %s) has no column in the migrated schema", table, f.DBName, f.Name)
				}
			}
			for name, c := range byName {
				if _, ok := fields[name]; ok {
					continue
				}
				nullable, _ := c.Nullable()
				_, hasDefault := c.DefaultValue()
				if !nullable && !hasDefault {
					t.Errorf("%s.%s is required but no field of %T fills it", table, name, m)
				}
			}
		}
	})
}

// catalogue describes every object of the database's schema as text:
// SQLite's own CREATE statements, PostgreSQL's columns, constraints,
// indexes, triggers, functions and sequences (with the schema's name taken
// out, so two schemas compare).
func catalogue(t *testing.T, db *gorm.DB) map[string]string {
	t.Helper()
	out := map[string]string{}
	type row struct{ K, V string }
	var rows []row
	if db.Dialector.Name() == "sqlite" {
		err := db.Raw("SELECT type || ' ' || name AS k, COALESCE(sql, '') AS v FROM sqlite_master").Scan(&rows).Error
		if err != nil {
			t.Fatal(err)
		}
		for _, r := range rows {
			out[r.K] = r.V
		}
		return out
	}
	var schemaName string
	if err := db.Raw("SELECT current_schema()").Scan(&schemaName).Error; err != nil {
		t.Fatal(err)
	}
	queries := []string{
		`SELECT 'column ' || table_name || '.' || column_name AS k,
			concat_ws(' ', ordinal_position, data_type, character_maximum_length, is_nullable, column_default) AS v
			FROM information_schema.columns WHERE table_schema = current_schema()`,
		`SELECT 'constraint ' || conrelid::regclass::text || ' ' || conname AS k, contype::text || ' ' || pg_get_constraintdef(oid) AS v
			FROM pg_constraint WHERE connamespace = current_schema()::regnamespace`,
		`SELECT 'index ' || indexname AS k, indexdef AS v FROM pg_indexes WHERE schemaname = current_schema()`,
		`SELECT 'trigger ' || tgname AS k, pg_get_triggerdef(t.oid) AS v FROM pg_trigger t
			JOIN pg_class c ON c.oid = t.tgrelid WHERE c.relnamespace = current_schema()::regnamespace AND NOT t.tgisinternal`,
		`SELECT 'function ' || proname AS k, pg_get_functiondef(oid) AS v FROM pg_proc WHERE pronamespace = current_schema()::regnamespace`,
		`SELECT 'sequence ' || sequence_name AS k, concat_ws(' ', data_type, start_value, increment) AS v
			FROM information_schema.sequences WHERE sequence_schema = current_schema()`,
	}
	for _, q := range queries {
		rows = nil
		if err := db.Raw(q).Scan(&rows).Error; err != nil {
			t.Fatalf("%s: %v", q, err)
		}
		for _, r := range rows {
			out[strings.ReplaceAll(r.K, schemaName+".", "S.")] = strings.ReplaceAll(r.V, schemaName+".", "S.")
		}
	}
	return out
}

// tableDump reads every row of the tables the last release had, as text.
func tableDump(t *testing.T, db *gorm.DB) map[string][]map[string]any {
	t.Helper()
	out := map[string][]map[string]any{}
	for _, table := range []string{"users", "events", "event_tags", "signin_throttles", "revoked_sessions", "audit_entries", "events_versions"} {
		var rows []map[string]any
		if err := db.Table(table).Order("1").Find(&rows).Error; err != nil {
			t.Fatalf("read %s: %v", table, err)
		}
		for _, r := range rows {
			for k, v := range r {
				r[k] = fmt.Sprint(v)
			}
		}
		out[table] = rows
	}
	return out
}

// tableDumpLike is tableDump reading only the columns before has: later
// migrations may add columns (with defaults), but must keep every value
// that was there.
func tableDumpLike(t *testing.T, db *gorm.DB, before map[string][]map[string]any) map[string][]map[string]any {
	t.Helper()
	out := map[string][]map[string]any{}
	for table, rows := range before {
		q := db.Table(table)
		if len(rows) > 0 {
			var cols []string
			for k := range rows[0] {
				cols = append(cols, k)
			}
			sort.Strings(cols)
			q = q.Select(cols)
		}
		var got []map[string]any
		if err := q.Order("1").Find(&got).Error; err != nil {
			t.Fatalf("read %s: %v", table, err)
		}
		for _, r := range got {
			for k, v := range r {
				r[k] = fmt.Sprint(v)
			}
		}
		out[table] = got
	}
	return out
}

func sortedKeys(maps ...map[string]string) []string {
	seen := map[string]bool{}
	var keys []string
	for _, m := range maps {
		for k := range m {
			if !seen[k] {
				seen[k] = true
				keys = append(keys, k)
			}
		}
	}
	return keys
}

// The last release's schema, as its GORM types and trigger code made it.
// Frozen here on purpose: these must not follow later changes to models.
type (
	legacyUser struct {
		ID           uint   `gorm:"primaryKey"`
		Email        string `gorm:"size:254;not null;uniqueIndex"`
		Name         string `gorm:"size:60;not null"`
		PasswordHash string `gorm:"size:100;not null"`
		Role         string `gorm:"size:10;not null;default:user;index"`
		Disabled     bool   `gorm:"not null;default:false"`
		TokenVersion int    `gorm:"not null;default:1"`
		LastSignInAt *time.Time
		CreatedAt    time.Time `gorm:"not null;index"`
		UpdatedAt    time.Time `gorm:"not null"`
	}
	legacyEvent struct {
		ID          uint       `gorm:"primaryKey"`
		CreatorID   uint       `gorm:"not null;index:idx_events_creator,priority:1"`
		Creator     legacyUser `gorm:"constraint:OnDelete:CASCADE"`
		Title       string     `gorm:"size:200;not null"`
		Image       string     `gorm:"size:2048;not null;default:''"`
		Description string     `gorm:"size:5000;not null;default:''"`
		Tags        string     `gorm:"size:400;not null;default:''"`
		Location    string     `gorm:"size:200;not null;default:''"`
		StartsAt    *time.Time `gorm:"index:idx_events_start,priority:1;index:idx_events_creator,priority:2"`
		EndsAt      *time.Time
		Visibility  string    `gorm:"size:10;not null;default:public;index"`
		CreatedAt   time.Time `gorm:"not null;index"`
		UpdatedAt   time.Time `gorm:"not null"`
	}
	legacyEventTag struct {
		EventID uint        `gorm:"primaryKey;index:idx_event_tags_tag,priority:2"`
		Tag     string      `gorm:"primaryKey;size:30;index:idx_event_tags_tag,priority:1"`
		Event   legacyEvent `gorm:"constraint:OnDelete:CASCADE"`
	}
	legacySigninThrottle struct {
		ID          uint       `gorm:"primaryKey"`
		EmailHash   string     `gorm:"size:64;not null;uniqueIndex:idx_throttle_pair,priority:1"`
		Client      string     `gorm:"size:64;not null;uniqueIndex:idx_throttle_pair,priority:2"`
		Failures    int        `gorm:"not null;default:0"`
		LockedUntil *time.Time `gorm:"index"`
		UpdatedAt   time.Time  `gorm:"not null"`
	}
	legacyRevokedSession struct {
		SID       string    `gorm:"column:sid;primaryKey;size:64"`
		ExpiresAt time.Time `gorm:"not null;index"`
	}
	legacyAuditEntry struct {
		ID         uint      `gorm:"primaryKey"`
		At         time.Time `gorm:"not null;index"`
		ActorEmail string    `gorm:"size:254;not null;default:'';index"`
		ActorID    string    `gorm:"size:20;not null;default:''"`
		Action     string    `gorm:"size:40;not null;index"`
		Target     string    `gorm:"size:300;not null;default:''"`
		IP         string    `gorm:"size:64;not null;default:''"`
		Outcome    string    `gorm:"size:20;not null;default:''"`
	}
	legacyEventsVersion struct {
		Slot    int   `gorm:"primaryKey;autoIncrement:false"`
		Version int64 `gorm:"not null;default:0"`
	}
)

func (legacyUser) TableName() string           { return "users" }
func (legacyEvent) TableName() string          { return "events" }
func (legacyEventTag) TableName() string       { return "event_tags" }
func (legacySigninThrottle) TableName() string { return "signin_throttles" }
func (legacyRevokedSession) TableName() string { return "revoked_sessions" }
func (legacyAuditEntry) TableName() string     { return "audit_entries" }
func (legacyEventsVersion) TableName() string  { return "events_versions" }

// legacyMigrate is the last release's models.Migrate.
func legacyMigrate(t *testing.T, db *gorm.DB) {
	t.Helper()
	err := db.AutoMigrate(&legacyUser{}, &legacyEvent{}, &legacyEventTag{}, &legacySigninThrottle{},
		&legacyRevokedSession{}, &legacyAuditEntry{}, &legacyEventsVersion{})
	if err != nil {
		t.Fatalf("legacy AutoMigrate: %v", err)
	}
	slots := make([]legacyEventsVersion, 16)
	for i := range slots {
		slots[i].Slot = i
	}
	if err := db.Create(&slots).Error; err != nil {
		t.Fatal(err)
	}
	var stmts []string
	if db.Dialector.Name() == "sqlite" {
		for _, tr := range [][2]string{{"events_insert", "INSERT ON events"}, {"events_update", "UPDATE ON events"},
			{"events_delete", "DELETE ON events"}, {"users_update", "UPDATE OF name, email ON users"}, {"users_delete", "DELETE ON users"}} {
			stmts = append(stmts, "CREATE TRIGGER IF NOT EXISTS events_version_"+tr[0]+" AFTER "+tr[1]+
				" BEGIN UPDATE events_versions SET version = version + 1 WHERE slot = 0; END")
		}
	} else {
		stmts = []string{`CREATE FUNCTION events_version_bump() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
	IF current_setting('planner.events_version_bumped', true) IS DISTINCT FROM 'yes' THEN
		PERFORM set_config('planner.events_version_bumped', 'yes', true);
		UPDATE events_versions SET version = version + 1 WHERE slot = (txid_current() % 16)::int;
	END IF;
	RETURN NULL;
END $$`,
			"CREATE CONSTRAINT TRIGGER events_version_events AFTER INSERT OR UPDATE OR DELETE ON events DEFERRABLE INITIALLY DEFERRED FOR EACH ROW EXECUTE FUNCTION events_version_bump()",
			"CREATE TRIGGER events_version_events_truncate AFTER TRUNCATE ON events FOR EACH STATEMENT EXECUTE FUNCTION events_version_bump()",
			"CREATE CONSTRAINT TRIGGER events_version_users AFTER UPDATE OF name, email OR DELETE ON users DEFERRABLE INITIALLY DEFERRED FOR EACH ROW EXECUTE FUNCTION events_version_bump()",
		}
	}
	for _, s := range stmts {
		if err := db.Exec(s).Error; err != nil {
			t.Fatalf("legacy trigger: %v", err)
		}
	}
}

// seedLegacy fills every table of the legacy schema with a row or two.
func seedLegacy(t *testing.T, db *gorm.DB) {
	t.Helper()
	now := time.Date(2030, 5, 1, 12, 0, 0, 0, time.UTC)
	starts := now.Add(48 * time.Hour)
	users := []legacyUser{
		{Email: "owner@example.com", Name: "Owner", PasswordHash: testHash, Role: "admin", TokenVersion: 3, LastSignInAt: &now, CreatedAt: now, UpdatedAt: now},
		{Email: "guest@example.com", Name: "Guest", PasswordHash: testHash, Role: "user", Disabled: true, TokenVersion: 1, CreatedAt: now, UpdatedAt: now},
	}
	events := []legacyEvent{
		{CreatorID: 1, Title: "Launch", Description: "It's here", Tags: "go,web", Location: "Hall", StartsAt: &starts, Visibility: "public", CreatedAt: now, UpdatedAt: now},
		{CreatorID: 2, Title: "Secret", Visibility: "private", CreatedAt: now, UpdatedAt: now},
	}
	rows := []any{
		&users, &events,
		&[]legacyEventTag{{EventID: 1, Tag: "go"}, {EventID: 1, Tag: "web"}},
		&legacySigninThrottle{EmailHash: strings.Repeat("a", 64), Client: "192.0.2.1", Failures: 2, UpdatedAt: now},
		&legacyRevokedSession{SID: "sid-1", ExpiresAt: now},
		&legacyAuditEntry{At: now, ActorEmail: "owner@example.com", ActorID: "1", Action: "signin", IP: "192.0.2.1", Outcome: "ok"},
	}
	for _, r := range rows {
		if err := db.Omit("Creator", "Event").Create(r).Error; err != nil {
			t.Fatalf("seed %T: %v", r, err)
		}
	}
}
