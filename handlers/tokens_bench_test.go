package handlers

import (
	"context"
	"io"
	"log/slog"
	"testing"
	"time"

	"github.com/planner/planner/models"
)

// Token benchmarks: signing and checking a token alone, and the full check
// every authenticated request pays (signature, claims, revocation, user).

func BenchmarkTokensIssue(b *testing.B) {
	tk, err := NewTokens([][]byte{testKey}, nil)
	if err != nil {
		b.Fatal(err)
	}
	now := time.Now()
	b.ReportAllocs()
	cpu := startCPU()
	for b.Loop() {
		if _, err := tk.Issue(AudienceAPI, 42, 1, "sid-0123456789", now, now.Add(time.Hour)); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(cpu.perOp(b), "cpu-ns/op")
}

func BenchmarkTokensParse(b *testing.B) {
	tk, err := NewTokens([][]byte{testKey}, nil)
	if err != nil {
		b.Fatal(err)
	}
	now := time.Now()
	raw, err := tk.Issue(AudienceAPI, 42, 1, "sid-0123456789", now, now.Add(time.Hour))
	if err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	cpu := startCPU()
	for b.Loop() {
		if _, err := tk.Parse(AudienceAPI, raw); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(cpu.perOp(b), "cpu-ns/op")
}

// BenchmarkSessionsVerify is Parse plus the database checks (revoked
// session, user enabled and at the token's version) on SQLite.
func BenchmarkSessionsVerify(b *testing.B) {
	app := newTestApp(b)
	u := app.createUser("bench@example.com", goodPassword, "user")
	tk, err := NewTokens([][]byte{testKey}, nil)
	if err != nil {
		b.Fatal(err)
	}
	now := time.Now()
	raw, err := tk.Issue(AudienceAPI, u.ID, u.TokenVersion, NewID(), now, now.Add(time.Hour))
	if err != nil {
		b.Fatal(err)
	}
	s := &Sessions{cfg: app.cfg, tokens: tk, revoked: models.NewSessions(app.db),
		log: slog.New(slog.NewTextHandler(io.Discard, nil))}
	ctx := context.Background()
	b.ReportAllocs()
	cpu := startCPU()
	for b.Loop() {
		if _, err := s.Verify(ctx, AudienceAPI, raw, Seen{}); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(cpu.perOp(b), "cpu-ns/op")
}
