package models_test

import (
	"context"
	"testing"
	"time"

	"github.com/planner/planner/models"
	"github.com/planner/planner/models/dbtest"
)

// TestSQLiteSplitPool checks the SQLite file's two pools: writes reach the
// file, reads see them, the read connections refuse to write, and a
// transaction holding the write connection does not stop anyone reading.
func TestSQLiteSplitPool(t *testing.T) {
	db := dbtest.SQLite(t)
	ctx := context.Background()
	users := models.NewUsers(db)
	u, err := users.Create(ctx, "split@example.com", "", testHash, models.RoleUser)
	if err != nil {
		t.Fatal(err)
	}
	if got, err := users.ByID(ctx, u.ID); err != nil || got.Email != u.Email {
		t.Fatalf("read after write: %v, %v", got, err)
	}

	// The pool gorm.DB.DB() hands out is the read pool: query_only.
	sqlDB, err := db.DB()
	if err != nil {
		t.Fatal(err)
	}
	if _, err := sqlDB.ExecContext(ctx, "DELETE FROM users"); err == nil {
		t.Fatal("a read connection wrote")
	}

	// A write transaction in progress holds the one write connection;
	// reads go on meanwhile and see what was committed before it.
	tx := db.Begin()
	if tx.Error != nil {
		t.Fatal(tx.Error)
	}
	defer tx.Rollback()
	if err := tx.Exec("UPDATE users SET name = ? WHERE id = ?", "Changed", u.ID).Error; err != nil {
		t.Fatal(err)
	}
	rctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	got, err := users.ByID(rctx, u.ID)
	if err != nil {
		t.Fatalf("read during a write transaction: %v", err)
	}
	if got.Name == "Changed" {
		t.Fatal("a read saw an uncommitted write")
	}
}
