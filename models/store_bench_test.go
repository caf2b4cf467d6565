package models_test

import (
	"context"
	"fmt"
	"os"
	"testing"
	"time"

	"github.com/planner/planner/models"
	"github.com/planner/planner/models/dbtest"
	"gorm.io/gorm"
)

// Store benchmarks on SQLite and, when PLANNER_TEST_POSTGRES_URL is set,
// PostgreSQL: the event store's list, get and create, and the user lookup
// every authenticated request makes, with the load run's data (50 public
// events with every field set).

// eachDB runs f as a sub-benchmark per database; PostgreSQL only when the
// test server is configured (skipped otherwise, even in CI: benchmarks are
// not part of the test run).
func eachDB(b *testing.B, f func(b *testing.B, db *gorm.DB)) {
	b.Run("sqlite", func(b *testing.B) { f(b, dbtest.SQLite(b)) })
	b.Run("postgres", func(b *testing.B) {
		if os.Getenv(dbtest.PostgresEnv) != "" {
			f(b, dbtest.Postgres(b))
		} else {
			b.Skip(dbtest.PostgresEnv + " not set")
		}
	})
}

// benchEvents creates a user and n public events with every field set.
func benchEvents(b *testing.B, db *gorm.DB, n int) (*models.User, []uint) {
	b.Helper()
	ctx := context.Background()
	u, err := models.NewUsers(db).Create(ctx, "bench@example.com", "Bench", testHash, models.RoleUser)
	if err != nil {
		b.Fatal(err)
	}
	s := models.NewEvents(db)
	var ids []uint
	for i := range n {
		e, err := s.Create(ctx, u.ID, benchInput(i))
		if err != nil {
			b.Fatal(err)
		}
		ids = append(ids, e.ID)
	}
	return u, ids
}

func benchInput(i int) models.EventInput {
	start := time.Now().UTC().Add(time.Duration(i%40-10) * 24 * time.Hour).Truncate(time.Hour)
	end := start.Add(3 * time.Hour)
	in := models.EventInput{
		Title:       fmt.Sprintf("Community meetup #%d", i),
		Image:       "https://images.example.com/meetup.png",
		Description: "An evening of short talks, food and conversation. Bring a friend; everyone is welcome.",
		Tags:        []string{"meetup", "talks", "food"},
		Location:    "Town hall, main room",
		StartsAt:    &start,
		EndsAt:      &end,
		Visibility:  models.VisibilityPublic,
	}
	in.Normalize()
	return in
}

// BenchmarkEventsList is the API's first page (50 events by id) for an
// anonymous caller, and the pages' browse order for the signed-in creator.
func BenchmarkEventsList(b *testing.B) {
	eachDB(b, func(b *testing.B, db *gorm.DB) {
		u, _ := benchEvents(b, db, 50)
		s := models.NewEvents(db)
		ctx := context.Background()
		for _, q := range []struct {
			name string
			q    models.EventQuery
		}{
			{"api", models.EventQuery{Order: models.OrderID, Limit: 50}},
			{"browse", models.EventQuery{Viewer: u, Order: models.OrderBrowse, Limit: 20}},
		} {
			b.Run(q.name, func(b *testing.B) {
				b.ReportAllocs()
				cpu := startCPU()
				for b.Loop() {
					q.q.Now = time.Now()
					p, err := s.List(ctx, q.q)
					if err != nil || len(p.Events) == 0 {
						b.Fatal(len(p.Events), err)
					}
				}
				b.ReportMetric(cpu.perOp(b), "cpu-ns/op")
			})
		}
	})
}

func BenchmarkEventsGet(b *testing.B) {
	eachDB(b, func(b *testing.B, db *gorm.DB) {
		_, ids := benchEvents(b, db, 50)
		s := models.NewEvents(db)
		ctx := context.Background()
		b.ReportAllocs()
		cpu := startCPU()
		for b.Loop() {
			if _, err := s.Get(ctx, ids[25]); err != nil {
				b.Fatal(err)
			}
		}
		b.ReportMetric(cpu.perOp(b), "cpu-ns/op")
	})
}

func BenchmarkEventsCreate(b *testing.B) {
	eachDB(b, func(b *testing.B, db *gorm.DB) {
		u, _ := benchEvents(b, db, 0)
		s := models.NewEvents(db)
		ctx := context.Background()
		in := benchInput(1)
		b.ReportAllocs()
		cpu := startCPU()
		for b.Loop() {
			if _, err := s.Create(ctx, u.ID, in); err != nil {
				b.Fatal(err)
			}
		}
		b.ReportMetric(cpu.perOp(b), "cpu-ns/op")
	})
}

// BenchmarkEventsCreateParallel is many clients creating at once: on
// SQLite they take turns at the single write lock.
func BenchmarkEventsCreateParallel(b *testing.B) {
	eachDB(b, func(b *testing.B, db *gorm.DB) {
		u, _ := benchEvents(b, db, 0)
		s := models.NewEvents(db)
		ctx := context.Background()
		in := benchInput(1)
		b.ReportAllocs()
		cpu := startCPU()
		b.SetParallelism(16)
		b.RunParallel(func(pb *testing.PB) {
			for pb.Next() {
				if _, err := s.Create(ctx, u.ID, in); err != nil {
					b.Error(err)
					return
				}
			}
		})
		b.ReportMetric(cpu.perOp(b), "cpu-ns/op")
		b.ReportMetric(float64(b.N)/float64(max(models.CreateCommits(s), 1)), "events/commit")
	})
}

func BenchmarkUsersByID(b *testing.B) {
	eachDB(b, func(b *testing.B, db *gorm.DB) {
		u, _ := benchEvents(b, db, 0)
		users := models.NewUsers(db)
		ctx := context.Background()
		b.ReportAllocs()
		cpu := startCPU()
		for b.Loop() {
			if _, err := users.ByID(ctx, u.ID); err != nil {
				b.Fatal(err)
			}
		}
		b.ReportMetric(cpu.perOp(b), "cpu-ns/op")
	})
}
