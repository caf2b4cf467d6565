package models

import (
	"context"
	"fmt"
	"strings"
	"time"

	"gorm.io/gorm"
)

// UserQuery selects a page of users for the admin list.
type UserQuery struct {
	Q      string // substring of the email
	After  uint   // id cursor: users with a greater id
	Before uint   // id cursor: users with a smaller id
	Limit  int
}

// UserPage is a page of users, ordered by id, with the ids around it.
type UserPage struct {
	Users      []User
	NextAfter  uint // 0 when there is no next page
	PrevBefore uint // 0 when there is no previous page
}

// List returns a page of users by id (keyset pagination).
func (s *Users) List(ctx context.Context, q UserQuery) (UserPage, error) {
	if q.Limit <= 0 || q.Limit > MaxPageSize {
		q.Limit = 50
	}
	if !storableText(q.Q) {
		return UserPage{}, nil // no email can match (and PostgreSQL would fail)
	}
	tx := s.db.WithContext(ctx).Model(&User{})
	if term := strings.TrimSpace(q.Q); term != "" {
		tx = tx.Where(`email LIKE ? ESCAPE '\'`, "%"+escapeLike(NormalizeEmail(term))+"%")
	}
	backward := q.Before > 0 && q.After == 0
	switch {
	case backward:
		tx = tx.Where("id < ?", q.Before).Order("id DESC")
	case q.After > 0:
		tx = tx.Where("id > ?", q.After).Order("id ASC")
	default:
		tx = tx.Order("id ASC")
	}
	var users []User
	if err := tx.Limit(q.Limit + 1).Find(&users).Error; err != nil {
		return UserPage{}, translate("list users", err)
	}
	n, hasNext, hasPrev := keyset(len(users), q.Limit, backward, q.After > 0, func(i, j int) {
		users[i], users[j] = users[j], users[i]
	})
	users = users[:n]
	page := UserPage{Users: users}
	if len(users) == 0 {
		return page, nil
	}
	if hasNext {
		page.NextAfter = users[len(users)-1].ID
	}
	if hasPrev {
		page.PrevBefore = users[0].ID
	}
	return page, nil
}

// Delete removes a user and every event they created, in one transaction
// that refuses to remove the last enabled admin.
func (s *Users) Delete(ctx context.Context, id uint) error {
	err := s.db.WithContext(ctx).Transaction(func(tx *gorm.DB) error {
		if err := s.guardLastAdmin(tx, id); err != nil {
			return err
		}
		// Their seats elsewhere go to the next waiters before the rows go.
		if err := cancelAllOf(ctx, tx, id); err != nil {
			return err
		}
		mine := tx.Model(&Event{}).Select("id").Where("creator_id = ?", id)
		if err := tx.Where("event_id IN (?)", mine).Delete(&EventTag{}).Error; err != nil {
			return err
		}
		if err := tx.Where("event_id IN (?)", mine).Delete(&RSVP{}).Error; err != nil {
			return err
		}
		if err := tx.Where("creator_id = ?", id).Delete(&Event{}).Error; err != nil {
			return err
		}
		return oneRow(tx.Delete(&User{}, id))
	})
	return translate("delete user", err)
}

// CountByCreator returns how many events a user created.
func (s *Events) CountByCreator(ctx context.Context, creatorID uint) (int64, error) {
	var n int64
	err := s.db.WithContext(ctx).Model(&Event{}).Where("creator_id = ?", creatorID).Count(&n).Error
	return n, translate("count events by creator", err)
}

// Stats are the admin dashboard's counts.
type Stats struct {
	Users, Admins, Events        int64
	SignIns24h, FailedSignIns24h int64
	ThrottledPairs               int64
	Days                         []string // YYYY-MM-DD, oldest first (UTC)
	SignupsPerDay, EventsPerDay  []int64
}

// Site is the admin's read-only view of the whole site: the dashboard's
// counts, the user list and the audit log.
type Site struct {
	db *gorm.DB
}

// NewSite returns the site view backed by db.
func NewSite(db *gorm.DB) *Site { return &Site{db: db} }

// Users returns a page of users (Users.List).
func (s *Site) Users(ctx context.Context, q UserQuery) (UserPage, error) {
	return NewUsers(s.db).List(ctx, q)
}

// Audit returns audit entries newest first (Audit.List).
func (s *Site) Audit(ctx context.Context, f AuditFilter) ([]AuditEntry, error) {
	return NewAudit(s.db).List(ctx, f)
}

// Stats computes the dashboard: totals, sign-ins in the 24 hours before
// now, throttled pairs, and per-day sign-ups and new events for the days
// (UTC) ending today. Each number is one indexed query.
func (s *Site) Stats(ctx context.Context, now time.Time, days int) (Stats, error) {
	now = now.UTC()
	var st Stats
	db := s.db.WithContext(ctx)
	counts := []struct {
		dst *int64
		q   *gorm.DB
	}{
		{&st.Users, db.Model(&User{})},
		{&st.Admins, db.Model(&User{}).Where("role = ?", RoleAdmin)},
		{&st.Events, db.Model(&Event{})},
		{&st.SignIns24h, db.Model(&AuditEntry{}).Where("action = ? AND at >= ?", ActionSignin, now.Add(-24*time.Hour))},
		{&st.FailedSignIns24h, db.Model(&AuditEntry{}).Where("action = ? AND at >= ?", ActionSigninFailed, now.Add(-24*time.Hour))},
		{&st.ThrottledPairs, db.Model(&SigninThrottle{}).Where("locked_until > ?", now)},
	}
	for _, c := range counts {
		if err := c.q.Count(c.dst).Error; err != nil {
			return st, translate("count for dashboard", err)
		}
	}
	first := time.Date(now.Year(), now.Month(), now.Day(), 0, 0, 0, 0, time.UTC).AddDate(0, 0, -(days - 1))
	for i := 0; i < days; i++ {
		st.Days = append(st.Days, first.AddDate(0, 0, i).Format("2006-01-02"))
	}
	var err error
	if st.SignupsPerDay, err = perDay(db, &User{}, first, st.Days); err != nil {
		return st, err
	}
	if st.EventsPerDay, err = perDay(db, &Event{}, first, st.Days); err != nil {
		return st, err
	}
	return st, nil
}

// perDay counts rows of model created on each of days, grouping in SQL.
func perDay(db *gorm.DB, model any, since time.Time, days []string) ([]int64, error) {
	day := "substr(created_at, 1, 10)" // SQLite keeps UTC times as text
	if isPostgres(db) {
		day = "to_char(created_at AT TIME ZONE 'UTC', 'YYYY-MM-DD')"
	}
	var rows []struct {
		Day string
		N   int64
	}
	err := db.Model(model).Select(day+" AS day, COUNT(*) AS n").Where("created_at >= ?", since).
		Group("day").Scan(&rows).Error
	if err != nil {
		return nil, fmt.Errorf("count per day: %w", err)
	}
	byDay := map[string]int64{}
	for _, r := range rows {
		byDay[r.Day] = r.N
	}
	out := make([]int64, len(days))
	for i, d := range days {
		out[i] = byDay[d]
	}
	return out, nil
}
