package handlers

import (
	"fmt"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
	"github.com/planner/planner/models"
)

// TestBrowserAdminPagesFit loads every admin page at desktop and phone
// width with long unbroken text in names, emails and titles: no page is
// wider than the screen, every action of a user row is on the screen (or
// behind a "More" whose summary is), and the chart's text stays readable
// on the phone.
func TestBrowserAdminPagesFit(t *testing.T) {
	app := newTestApp(t)
	root := app.createUser("root@example.com", goodPassword, models.RoleAdmin)
	longEmail := strings.Repeat("x", 108) + "@example.com" // 120 characters, no break
	long := app.createUser(longEmail, goodPassword, models.RoleUser)
	if err := app.db.Model(long).Update("name", strings.Repeat("N", 60)).Error; err != nil {
		t.Fatal(err)
	}
	enableTOTP(t, app.db, long, time.Now())
	admin2 := app.createUser(strings.Repeat("a", 60)+"@example.com", goodPassword, models.RoleAdmin)
	app.createUser("ana@example.com", goodPassword, models.RoleUser)
	title := strings.Repeat("T", 180)
	kept := app.createEvent(long.ID, title, "private")
	gone := app.createEvent(admin2.ID, strings.Repeat("G", 180), "public")
	app.createEvent(root.ID, "Launch party", "public")
	// Lock the long email's sign-in, so its row offers Unlock and the
	// audit log holds its failures.
	c := app.client()
	for i := 0; i < 5; i++ {
		c.post("/login", url.Values{"email": {longEmail}, "password": {"wrong-password"}})
	}
	base := app.serve(t)
	ctx := browser(t)
	if err := chromedp.Do(ctx,
		chromedp.EmulateViewport(1280, 900),
		chromedp.Navigate(base+"/login?next=/admin"),
		chromedp.SendKeys(chromedp.ID("email"), "root@example.com"),
		chromedp.SendKeys(chromedp.ID("password"), goodPassword),
		chromedp.Click(chromedp.CSS(`[data-testid="login-submit"]`)),
		chromedp.WaitVisible(chromedp.CSS(`[data-testid="chart"]`)),
		// Delete one long-titled event through its confirmation page, so
		// the audit log names it.
		chromedp.Navigate(fmt.Sprintf("%s/admin/events/%d/delete", base, gone.ID)),
		chromedp.Click(chromedp.CSS(`[data-testid="confirm-delete"]`)),
		chromedp.WaitVisible(chromedp.CSS(`[data-testid="flash"]`)),
	); err != nil {
		t.Fatal(err)
	}
	// Every button and button-like link of the user rows that is not on the
	// screen; a closed "More" stands for its own buttons.
	const offScreen = `(() => {
		const w = window.innerWidth, bad = [];
		let n = 0;
		for (const row of document.querySelectorAll('[data-testid="user-row"]')) {
			for (const b of row.querySelectorAll('button, a.button, summary')) {
				n++;
				const d = b.closest('details');
				const el = d && !d.open && b.tagName !== 'SUMMARY' ? d.querySelector('summary') : b;
				const r = el.getBoundingClientRect();
				if (r.width === 0 || r.left < 0 || r.right > w) {
					bad.push(b.textContent.trim().slice(0, 40) + ' at ' + Math.round(r.left) + '..' + Math.round(r.right));
				}
			}
		}
		return n === 0 ? ['no buttons found'] : bad;
	})()`
	for _, size := range []struct {
		name string
		w, h int64
	}{{"desktop", 1280, 900}, {"phone", 390, 844}} {
		if err := chromedp.Do(ctx, chromedp.EmulateViewport(size.w, size.h)); err != nil {
			t.Fatal(err)
		}
		for _, p := range []string{"/admin", "/admin/users", "/admin/events", "/admin/audit", fmt.Sprintf("/admin/users/%d/delete", long.ID), fmt.Sprintf("/admin/events/%d/delete", kept.ID)} {
			if err := chromedp.Do(ctx, chromedp.Navigate(base+p)); err != nil {
				t.Fatal(err)
			}
			fits := func(when string) {
				t.Helper()
				sizes, err := chromedp.Run(ctx, chromedp.Evaluate[[]int](`[document.documentElement.scrollWidth, window.innerWidth]`))
				if err != nil || len(sizes) != 2 || sizes[0] > sizes[1] {
					t.Errorf("%s %s%s: page %v px wide for a %v px window (%v)", size.name, p, when, sizes[:1], sizes[1:], err)
				}
			}
			fits("")
			name := strings.NewReplacer("/", "-", "?", "-").Replace(strings.Trim(p, "/"))
			screenshot(t, ctx, fmt.Sprintf("%s-%s.png", name, size.name))
			switch {
			case p == "/admin/users":
				if bad, err := chromedp.Run(ctx, chromedp.Evaluate[[]string](offScreen)); err != nil || len(bad) > 0 {
					t.Errorf("%s %s: actions off the screen: %q (%v)", size.name, p, bad, err)
				}
				// Opened, every menu's actions are on the screen too.
				if err := chromedp.Do(ctx, chromedp.Evaluate[chromedp.Void](`document.querySelectorAll('details').forEach(d => d.open = true)`)); err != nil {
					t.Fatal(err)
				}
				fits(" with every menu open")
				if bad, err := chromedp.Run(ctx, chromedp.Evaluate[[]string](offScreen)); err != nil || len(bad) > 0 {
					t.Errorf("%s %s, menus open: actions off the screen: %q (%v)", size.name, p, bad, err)
				}
				screenshot(t, ctx, fmt.Sprintf("admin-users-open-%s.png", size.name))
				unlock, err := chromedp.Run(ctx, chromedp.Evaluate[int](`document.querySelectorAll('[data-testid="user-unlock"]').length`))
				if err != nil || unlock != 1 {
					t.Errorf("%d Unlock buttons, want 1 (the locked user's) (%v)", unlock, err)
				}
			case p == "/admin":
				// The six numbers fill whole rows: 6 in one on a desktop,
				// 2 in each of 3 on a phone; the admin menu fits unscrolled.
				rows, err := chromedp.Run(ctx, chromedp.Evaluate[[]int](`(() => {
					const tops = {};
					for (const s of document.querySelectorAll('.stat')) { const y = Math.round(s.getBoundingClientRect().top); tops[y] = (tops[y] || 0) + 1; }
					return Object.values(tops);
				})()`))
				want := map[string]string{"desktop": "[6]", "phone": "[2 2 2]"}[size.name]
				if err != nil || fmt.Sprint(rows) != want {
					t.Errorf("%s: stat cards per row %v, want %s (%v)", size.name, rows, want, err)
				}
				nav, err := chromedp.Run(ctx, chromedp.Evaluate[[]int](`(n => [n.scrollWidth, n.clientWidth])(document.querySelector('.admin-nav'))`))
				if err != nil || len(nav) != 2 || nav[0] > nav[1] {
					t.Errorf("%s: admin menu %v px for %v px (%v)", size.name, nav[:1], nav[1:], err)
				}
				if size.name != "phone" {
					break
				}
				// The smallest rendered text of the chart, in CSS px.
				small, err := chromedp.Run(ctx, chromedp.Evaluate[float64](`Math.min(...[...document.querySelectorAll('svg.chart text')].map(t => t.getBoundingClientRect().height))`))
				if err != nil || small < 11 {
					t.Errorf("chart text %.1f px high on a phone, want ≥ 11 (%v)", small, err)
				}
				// Every label inside the chart, none cut off at its edges.
				out, err := chromedp.Run(ctx, chromedp.Evaluate[int](`(() => {
					const box = document.querySelector('svg.chart').getBoundingClientRect();
					return [...document.querySelectorAll('svg.chart text')].filter(t => {
						const r = t.getBoundingClientRect();
						return r.left < box.left - 0.5 || r.right > box.right + 0.5;
					}).length;
				})()`))
				if err != nil || out != 0 {
					t.Errorf("%d chart labels past the chart's edges (%v)", out, err)
				}
			}
		}
	}
	// By keyboard alone on the phone: open ana's "More", tab to Promote,
	// press Enter; the notice names her.
	row := `[data-email="ana@example.com"]`
	if err := chromedp.Do(ctx,
		chromedp.Navigate(base+"/admin/users?q=ana"),
		chromedp.Focus(chromedp.CSS(row+` .more-actions > summary`)),
		chromedp.KeyEvent("\r"),
	); err != nil {
		t.Fatal(err)
	}
	open, err := chromedp.Run(ctx, chromedp.Evaluate[bool](`document.querySelector('`+row+` .more-actions').open`))
	if err != nil || !open {
		t.Fatalf("Enter on More did not open it (%v)", err)
	}
	if err := chromedp.Do(ctx,
		chromedp.KeyEvent("\t"),
		chromedp.KeyEvent("\r"),
		chromedp.WaitVisible(chromedp.CSS(`[data-testid="flash"]`)),
	); err != nil {
		t.Fatal(err)
	}
	flash, err := chromedp.Run(ctx, chromedp.Text(chromedp.CSS(`[data-testid="flash"]`)))
	if err != nil || !strings.HasPrefix(flash, "Promoted ana@example.com to admin.") {
		t.Fatalf("after Promote by keyboard: %q (%v)", flash, err)
	}
	// The current page is marked in the admin menu.
	if err := chromedp.Do(ctx, chromedp.Navigate(base+"/admin/audit")); err != nil {
		t.Fatal(err)
	}
	cur, err := chromedp.Run(ctx, chromedp.Evaluate[string](`[...document.querySelectorAll('.admin-nav [aria-current="page"]')].map(a => a.textContent).join()`))
	if err != nil || cur != "Audit log" {
		t.Errorf("admin menu marks %q as current (%v)", cur, err)
	}
}
