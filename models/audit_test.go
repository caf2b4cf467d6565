package models_test

import (
	"context"
	"testing"
	"time"

	"github.com/planner/planner/models"
	"github.com/planner/planner/models/dbtest"
	"gorm.io/gorm"
)

func TestAuditRecordAndList(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, db *gorm.DB) {
		ctx := context.Background()
		audit := models.NewAudit(db)
		base := time.Date(2031, 3, 1, 12, 0, 0, 0, time.UTC)
		entries := []models.AuditEntry{
			{At: base, ActorEmail: "a@example.com", ActorID: "1", Action: models.ActionSignin, IP: "203.0.113.1", Outcome: models.OutcomeSuccess},
			{At: base.Add(time.Minute), ActorEmail: "b@example.com", ActorID: "2", Action: models.ActionSigninFailed, IP: "203.0.113.2", Outcome: models.OutcomeFailure},
			{At: base.Add(2 * time.Minute), ActorEmail: "b@example.com", ActorID: "2", Action: models.ActionSignin, Outcome: models.OutcomeSuccess},
			{At: base.Add(3 * time.Minute), ActorEmail: "a@example.com", ActorID: "1", Action: models.ActionUserPromoted, Target: "b@example.com", Outcome: models.OutcomeSuccess},
		}
		for _, e := range entries {
			e.ID = 999 // ignored: the log is append-only
			if err := audit.Record(ctx, e); err != nil {
				t.Fatalf("Record: %v", err)
			}
		}

		all, err := audit.List(ctx, models.AuditFilter{})
		if err != nil {
			t.Fatal(err)
		}
		if len(all) != len(entries) {
			t.Fatalf("List = %d entries, want %d", len(all), len(entries))
		}
		for i, got := range all {
			want := entries[len(entries)-1-i] // newest first
			if got.Action != want.Action || got.ActorEmail != want.ActorEmail || !got.At.Equal(want.At) ||
				got.Target != want.Target || got.IP != want.IP || got.Outcome != want.Outcome || got.ActorID != want.ActorID {
				t.Errorf("entry %d = %+v, want %+v", i, got, want)
			}
		}

		tests := []struct {
			name    string
			filter  models.AuditFilter
			wantAts []time.Time
		}{
			{"by action", models.AuditFilter{Action: models.ActionSignin}, []time.Time{entries[2].At, entries[0].At}},
			{"by actor", models.AuditFilter{Actor: "B@Example.com"}, []time.Time{entries[2].At, entries[1].At}},
			{"by both", models.AuditFilter{Action: models.ActionSignin, Actor: "a@example.com"}, []time.Time{entries[0].At}},
			{"no match", models.AuditFilter{Action: models.ActionUserDeleted}, nil},
			{"limit", models.AuditFilter{Limit: 2}, []time.Time{entries[3].At, entries[2].At}},
		}
		for _, tt := range tests {
			got, err := audit.List(ctx, tt.filter)
			if err != nil {
				t.Fatalf("%s: %v", tt.name, err)
			}
			if len(got) != len(tt.wantAts) {
				t.Errorf("%s: %d entries, want %d", tt.name, len(got), len(tt.wantAts))
				continue
			}
			for i := range got {
				if !got[i].At.Equal(tt.wantAts[i]) {
					t.Errorf("%s: entry %d at %v, want %v", tt.name, i, got[i].At, tt.wantAts[i])
				}
			}
		}
	})
}

func TestAuditRecordZeroTime(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, db *gorm.DB) {
		ctx := context.Background()
		audit := models.NewAudit(db)
		if err := audit.Record(ctx, models.AuditEntry{ActorEmail: "cli", Action: models.ActionUserUnlocked}); err != nil {
			t.Fatal(err)
		}
		got, err := audit.List(ctx, models.AuditFilter{})
		if err != nil || len(got) != 1 {
			t.Fatalf("List = %v, %v", got, err)
		}
		// A zero time becomes the current time: the entry is not dropped by the
		// next purge as if it were from year 1.
		if got[0].At.Year() < 2020 {
			t.Errorf("At = %v, want the current time", got[0].At)
		}
		if err := audit.Purge(ctx, time.Now()); err != nil {
			t.Fatal(err)
		}
		if got, _ := audit.List(ctx, models.AuditFilter{}); len(got) != 1 {
			t.Errorf("a fresh entry was purged")
		}
	})
}

func TestAuditPurge(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, db *gorm.DB) {
		ctx := context.Background()
		audit := models.NewAudit(db)
		now := time.Date(2031, 6, 1, 0, 0, 0, 0, time.UTC)
		ages := map[string]time.Duration{
			"ancient":  400 * 24 * time.Hour,
			"old":      91 * 24 * time.Hour,
			"recent":   89 * 24 * time.Hour,
			"today":    time.Hour,
			"boundary": models.AuditRetention - time.Second,
		}
		for target, age := range ages {
			if err := audit.Record(ctx, models.AuditEntry{At: now.Add(-age), Action: models.ActionSignin, Target: target}); err != nil {
				t.Fatal(err)
			}
		}
		if err := audit.Purge(ctx, now); err != nil {
			t.Fatalf("Purge: %v", err)
		}
		got, err := audit.List(ctx, models.AuditFilter{})
		if err != nil {
			t.Fatal(err)
		}
		kept := map[string]bool{}
		for _, e := range got {
			kept[e.Target] = true
		}
		for target, age := range ages {
			if want := age < models.AuditRetention; kept[target] != want {
				t.Errorf("%s (%v old): kept %v, want %v", target, age, kept[target], want)
			}
		}
		if models.AuditRetention != 90*24*time.Hour {
			t.Errorf("AuditRetention = %v, want 90 days", models.AuditRetention)
		}
	})
}
