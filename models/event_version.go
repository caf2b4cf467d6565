package models

import (
	"context"
	"fmt"
	"strings"

	"gorm.io/gorm"
	"gorm.io/gorm/clause"
)

// The events version is a number that grows whenever anything an event
// shows may have changed: an event written or deleted (its tags with it),
// or its creator renamed or deleted. Readers that keep answers (the API's cache of
// what anonymous callers see) compare it before every use, so a change made
// through any instance, any code path or the CLI is seen by every instance
// at once: the counter is written by database triggers, in the writing
// transaction itself, and a reader sees the new number exactly when it can
// see the new data.
//
// The counter is spread over versionSlots rows, so that PostgreSQL writers
// in different transactions do not all queue for one row lock; the version
// is their sum.
type eventsVersion struct {
	Slot    int   `gorm:"primaryKey;autoIncrement:false"`
	Version int64 `gorm:"not null;default:0"`
}

func (eventsVersion) TableName() string { return "events_versions" }

// versionSlots is how many rows the counter is spread over.
const versionSlots = 16

// Version returns the current events version. Read it before the data it
// guards, and keep what was read only while the version stays the same.
func (s *Events) Version(ctx context.Context) (int64, error) {
	stmt, err := s.stmts.version.get(ctx, s.db, readPool, "SELECT COALESCE(SUM(version), 0) FROM events_versions")
	if err != nil {
		return 0, translate("read events version", err)
	}
	var v int64
	err = stmt.QueryRowContext(queryContext(ctx, s.db)).Scan(&v)
	return v, translate("read events version", err)
}

// migrateEventsVersion creates the counter's rows and the triggers that
// bump it. Running it again changes nothing.
func migrateEventsVersion(ctx context.Context, db *gorm.DB) error {
	db = db.WithContext(ctx)
	if err := db.AutoMigrate(&eventsVersion{}); err != nil {
		return err
	}
	rows := make([]eventsVersion, versionSlots)
	for i := range rows {
		rows[i].Slot = i
	}
	if err := db.Clauses(clause.OnConflict{DoNothing: true}).Create(&rows).Error; err != nil {
		return err
	}
	if isPostgres(db) {
		return postgresVersionTriggers(db)
	}
	return sqliteVersionTriggers(db)
}

// versionTriggers are the tables, and the changes to them, that bump the
// version: SQLite wants one trigger per kind of change, PostgreSQL takes
// them together. A user's other columns (sign-in time, token version, role)
// show in no event, so only a rename or a deletion counts. The event_tags
// rows need none: they are an index of events.tags, always written in the
// same transaction as the event itself.
var versionTriggers = []struct {
	table  string
	sqlite []string
	pg     string
}{
	{"events", []string{"INSERT", "UPDATE", "DELETE"}, "INSERT OR UPDATE OR DELETE"},
	{"users", []string{"UPDATE OF name, email", "DELETE"}, "UPDATE OF name, email OR DELETE"},
}

// sqliteVersionTriggers creates the row triggers. SQLite has one writer at
// a time, so one slot does.
func sqliteVersionTriggers(db *gorm.DB) error {
	for _, t := range versionTriggers {
		for _, ev := range t.sqlite {
			name := "events_version_" + t.table + "_" + strings.ToLower(strings.Fields(ev)[0])
			sql := fmt.Sprintf("CREATE TRIGGER IF NOT EXISTS %s AFTER %s ON %s BEGIN "+
				"UPDATE events_versions SET version = version + 1 WHERE slot = 0; END", name, ev, t.table)
			if err := db.Exec(sql).Error; err != nil {
				return fmt.Errorf("create trigger %s: %w", name, err)
			}
		}
	}
	return nil
}

// postgresVersionTriggers creates the triggers on PostgreSQL. They are
// constraint triggers deferred to commit, and the first of them in a
// transaction bumps the slot picked by the transaction id, the others
// nothing: the counter row is the last lock a writing transaction takes,
// held only while it commits, so writers never deadlock over it, and
// concurrent ones mostly bump different slots. (TRUNCATE, which has no row
// triggers, gets a plain statement trigger.) Triggers are created only
// when missing, so a restart takes no lock on the tables.
func postgresVersionTriggers(db *gorm.DB) error {
	return db.Transaction(func(tx *gorm.DB) error {
		var fn *string
		if err := tx.Raw("SELECT to_regprocedure('events_version_bump()')::text").Scan(&fn).Error; err != nil {
			return err
		}
		if fn == nil {
			err := tx.Exec(`CREATE FUNCTION events_version_bump() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
	IF current_setting('planner.events_version_bumped', true) IS DISTINCT FROM 'yes' THEN
		PERFORM set_config('planner.events_version_bumped', 'yes', true);
		UPDATE events_versions SET version = version + 1 WHERE slot = (txid_current() % ` + fmt.Sprint(versionSlots) + `)::int;
	END IF;
	RETURN NULL;
END $$`).Error
			if err != nil {
				return fmt.Errorf("create function events_version_bump: %w", err)
			}
		}
		type trigger struct{ name, table, def string }
		var all []trigger
		for _, t := range versionTriggers {
			name := "events_version_" + t.table
			all = append(all, trigger{name, t.table, fmt.Sprintf("CONSTRAINT TRIGGER %s AFTER %s ON %s "+
				"DEFERRABLE INITIALLY DEFERRED FOR EACH ROW", name, t.pg, t.table)})
			if t.table != "users" {
				all = append(all, trigger{name + "_truncate", t.table, fmt.Sprintf("TRIGGER %s_truncate AFTER TRUNCATE ON %s "+
					"FOR EACH STATEMENT", name, t.table)})
			}
		}
		for _, t := range all {
			var n int64
			err := tx.Raw("SELECT count(*) FROM pg_trigger WHERE tgname = ? AND tgrelid = to_regclass(?)", t.name, t.table).
				Scan(&n).Error
			if err != nil {
				return err
			}
			if n > 0 {
				continue
			}
			if err := tx.Exec("CREATE " + t.def + " EXECUTE FUNCTION events_version_bump()").Error; err != nil {
				return fmt.Errorf("create trigger %s: %w", t.name, err)
			}
		}
		return nil
	})
}
