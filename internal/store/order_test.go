package store

import (
	"context"
	"path/filepath"
	"slices"
	"testing"
	"time"

	"github.com/opensym/sym/internal/model"
)

// TestRequestListingsFollowTime: requests made within one second are
// listed newest first and paged without a gap, whatever number of
// fractional digits their times need (12:00:00, 12:00:00.1, 12:00:00.15
// are written with none, one and two).
func TestRequestListingsFollowTime(t *testing.T) {
	ctx := context.Background()
	s := open(t, filepath.Join(t.TempDir(), "sym.db"))
	defer s.Close()
	t0 := time.Date(2026, 12, 8, 12, 0, 0, 0, time.UTC)
	for _, c := range []struct {
		id    string
		after time.Duration
	}{{"a-first", 0}, {"b-second", 100 * time.Millisecond}, {"c-third", 150 * time.Millisecond}, {"d-fourth", 1500 * time.Millisecond}} {
		at := t0.Add(c.after)
		r := &model.Request{ID: c.id, State: model.Pending, Requester: "alice@example.com", CreatedAt: at, ExpiresAt: at.Add(time.Hour)}
		if err := s.CreateRequest(ctx, r, &model.AuditEvent{RequestID: c.id, Type: "request", Actor: "alice@example.com"}); err != nil {
			t.Fatal(err)
		}
	}
	ids := func(rs []*model.Request) (out []string) {
		for _, r := range rs {
			out = append(out, r.ID)
		}
		return out
	}
	all, err := s.ListRequests(ctx, "", "", 10)
	if want := []string{"d-fourth", "c-third", "b-second", "a-first"}; err != nil || !slices.Equal(ids(all), want) {
		t.Fatalf("the listing is %v (%v), want newest first %v", ids(all), err, want)
	}
	// A page at a time, one request a page: each page is the next older.
	var paged []string
	for before := ""; ; {
		page, err := s.ListRequestsBefore(ctx, "", "", before, 1)
		if err != nil {
			t.Fatal(err)
		}
		if len(page) == 0 {
			break
		}
		paged = append(paged, page[0].ID)
		before = page[0].ID
		if len(paged) > 4 {
			break
		}
	}
	if want := []string{"d-fourth", "c-third", "b-second", "a-first"}; !slices.Equal(paged, want) {
		t.Fatalf("paging one at a time gave %v, want %v", paged, want)
	}
	visible, err := s.ListVisibleRequests(ctx, "", "", "alice@example.com", "c-third", nil, 10)
	if want := []string{"b-second", "a-first"}; err != nil || !slices.Equal(ids(visible), want) {
		t.Fatalf("a member's listing after c-third is %v (%v), want %v", ids(visible), err, want)
	}
}
