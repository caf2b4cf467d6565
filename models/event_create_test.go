package models_test

import (
	"context"
	"testing"

	"github.com/planner/planner/models"
	"github.com/planner/planner/models/dbtest"
	"gorm.io/gorm"
)

// TestCreateReturnsWhatGetReads checks that the event Create hands back
// (built from what it wrote) is the event Get reads from the database.
func TestCreateReturnsWhatGetReads(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, db *gorm.DB) {
		ctx := context.Background()
		s := models.NewEvents(db)
		u := mkUser(t, db, "ada@example.com", models.RoleUser)
		for i, in := range []models.EventInput{benchInput(3), {Title: "Bare"}} {
			in.Normalize()
			made, err := s.Create(ctx, u.ID, in)
			if err != nil {
				t.Fatal(err)
			}
			got, err := s.Get(ctx, made.ID)
			if err != nil {
				t.Fatal(err)
			}
			if made.ID != got.ID || made.CreatorID != got.CreatorID || made.Title != got.Title || made.Image != got.Image ||
				made.Description != got.Description || made.Tags != got.Tags || made.Location != got.Location ||
				made.Visibility != got.Visibility || made.Creator.ID != got.Creator.ID ||
				made.Creator.Email != got.Creator.Email || made.Creator.Name != got.Creator.Name ||
				!made.CreatedAt.Equal(got.CreatedAt) || !made.UpdatedAt.Equal(got.UpdatedAt) ||
				(made.StartsAt == nil) != (got.StartsAt == nil) || (made.EndsAt == nil) != (got.EndsAt == nil) ||
				(made.StartsAt != nil && !made.StartsAt.Equal(*got.StartsAt)) || (made.EndsAt != nil && !made.EndsAt.Equal(*got.EndsAt)) {
				t.Fatalf("event %d: Create returned\n%+v\nGet reads\n%+v", i, made, got)
			}
		}
	})
}
