package handlers

import (
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
	"github.com/planner/planner/models"
	"github.com/planner/planner/models/dbtest"
	"gorm.io/gorm"
)

type adminFixture struct {
	app               *testApp
	anon, user, admin *client
	adminUser, target *models.User
	userUser          *models.User
	event             *models.Event
}

func newAdminFixture(t *testing.T) *adminFixture {
	t.Helper()
	app := newTestApp(t)
	f := &adminFixture{app: app, anon: app.client(), user: app.client(), admin: app.client()}
	f.adminUser = app.createUser("root@example.com", goodPassword, models.RoleAdmin)
	f.userUser = app.createUser("user@example.com", goodPassword, models.RoleUser)
	f.target = app.createUser("target@example.com", goodPassword, models.RoleUser)
	f.event = app.createEvent(f.target.ID, "Target's private plan", "private")
	f.user.login("user@example.com", goodPassword)
	f.admin.login("root@example.com", goodPassword)
	return f
}

func (f *adminFixture) reload(t *testing.T, id uint) *models.User {
	t.Helper()
	u, err := models.NewUsers(f.app.db).ByID(context.Background(), id)
	if err != nil {
		t.Fatal(err)
	}
	return u
}

// TestAdminAuthorization walks every admin route as anonymous, user and
// admin; the user's attempts change nothing.
func TestAdminAuthorization(t *testing.T) {
	f := newAdminFixture(t)
	id := strconv.Itoa(int(f.target.ID))
	gets := []string{"/admin", "/admin/users", "/admin/users?q=target", "/admin/users/" + id + "/delete", "/admin/events", "/admin/audit", "/admin/audit?action=signin"}
	posts := []string{"promote", "demote", "disable", "enable", "revoke", "unlock", "delete"}
	// The event goes first: deleting the user takes their events along.
	postPaths := []string{fmt.Sprintf("/admin/events/%d/delete", f.event.ID)}
	for _, a := range posts {
		postPaths = append(postPaths, "/admin/users/"+id+"/"+a)
	}

	for _, p := range append(append([]string{}, gets...), postPaths...) {
		var anon, user *httptestRec
		if contains(postPaths, p) {
			anon, user = f.anon.post(p, nil), f.user.post(p, nil)
		} else {
			anon, user = f.anon.get(p), f.user.get(p)
		}
		if anon.Code != http.StatusSeeOther || !strings.HasPrefix(anon.Header().Get("Location"), "/login?next=") {
			t.Errorf("anonymous %s: %d %q", p, anon.Code, anon.Header().Get("Location"))
		}
		if user.Code != http.StatusForbidden || testid(t, user, "error-page") == "" {
			t.Errorf("user %s: %d", p, user.Code)
		}
	}
	// Nothing the user tried happened.
	tg := f.reload(t, f.target.ID)
	if tg.Role != models.RoleUser || tg.Disabled || tg.TokenVersion != f.target.TokenVersion {
		t.Fatalf("target changed by a non-admin: %+v", tg)
	}
	if _, err := models.NewEvents(f.app.db).Get(context.Background(), f.event.ID); err != nil {
		t.Fatal("event deleted by a non-admin")
	}
	if n := len(auditEntries(t, f.app, "")); n != 2 { // the two sign-ins
		t.Fatalf("audit entries after refused actions: %d", n)
	}
	for _, p := range gets {
		if rec := f.admin.get(p); rec.Code != http.StatusOK {
			t.Errorf("admin GET %s: %d", p, rec.Code)
		}
	}
	for _, p := range postPaths {
		if rec := f.admin.post(p, nil); rec.Code != http.StatusSeeOther {
			t.Errorf("admin POST %s: %d", p, rec.Code)
		}
	}
	// Without a CSRF token even the admin is refused.
	if rec := f.admin.postRaw("/admin/users/"+strconv.Itoa(int(f.userUser.ID))+"/disable", url.Values{}); rec.Code != http.StatusForbidden {
		t.Fatalf("admin action without CSRF: %d", rec.Code)
	}
	if f.reload(t, f.userUser.ID).Disabled {
		t.Fatal("user disabled without CSRF")
	}
}

type httptestRec = httptest.ResponseRecorder

func contains(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}

func auditEntries(t *testing.T, app *testApp, action string) []models.AuditEntry {
	t.Helper()
	es, err := models.NewAudit(app.db).List(context.Background(), models.AuditFilter{Action: action, Limit: 500})
	if err != nil {
		t.Fatal(err)
	}
	return es
}

func TestAdminDisableKillsSessionsAndTokens(t *testing.T) {
	f := newAdminFixture(t)
	web := f.app.client()
	web.login("target@example.com", goodPassword)
	tok := web.token("target@example.com", goodPassword)
	rec := f.admin.post(fmt.Sprintf("/admin/users/%d/disable", f.target.ID), url.Values{"back": {"/admin/users?q=target"}})
	if rec.Code != http.StatusSeeOther || rec.Header().Get("Location") != "/admin/users?q=target" {
		t.Fatalf("disable: %d %q", rec.Code, rec.Header().Get("Location"))
	}
	if rec := web.get("/account"); rec.Code != http.StatusSeeOther {
		t.Fatalf("disabled user's session still works: %d", rec.Code)
	}
	wantDetail(t, web.api("GET", "/api/user/me", tok, nil), 401, msgInvalidToken)
	if rec := web.post("/login", url.Values{"email": {"target@example.com"}, "password": {goodPassword}}); rec.Code != http.StatusUnauthorized {
		t.Fatalf("disabled user signs in: %d", rec.Code)
	}
	e := auditEntries(t, f.app, models.ActionUserDisabled)
	if len(e) != 1 || e[0].ActorEmail != "root@example.com" || e[0].Target != "target@example.com" {
		t.Fatalf("audit %+v", e)
	}
	// An unsafe back is ignored.
	rec = f.admin.post(fmt.Sprintf("/admin/users/%d/enable", f.target.ID), url.Values{"back": {"//evil.example/admin/users"}})
	if rec.Header().Get("Location") != "/admin/users" || f.reload(t, f.target.ID).Disabled {
		t.Fatalf("enable: %q", rec.Header().Get("Location"))
	}
	web.login("target@example.com", goodPassword)
}

func TestAdminRoleChangesApplyAtOnce(t *testing.T) {
	f := newAdminFixture(t)
	second := f.app.client()
	f.admin.post(fmt.Sprintf("/admin/users/%d/promote", f.userUser.ID), nil)
	// The promoted user's old session ended; a new one reaches /admin.
	if rec := f.user.get("/admin"); rec.Code != http.StatusSeeOther {
		t.Fatalf("old session after promotion: %d", rec.Code)
	}
	second.login("user@example.com", goodPassword)
	if rec := second.get("/admin"); rec.Code != http.StatusOK {
		t.Fatalf("promoted user on /admin: %d", rec.Code)
	}
	f.admin.post(fmt.Sprintf("/admin/users/%d/demote", f.userUser.ID), nil)
	if rec := second.get("/admin"); rec.Code == http.StatusOK {
		t.Fatalf("demoted user still reaches /admin: %d", rec.Code)
	}
	second.login("user@example.com", goodPassword)
	if rec := second.get("/admin"); rec.Code != http.StatusForbidden {
		t.Fatalf("demoted user, new session: %d", rec.Code)
	}
	if n := len(auditEntries(t, f.app, models.ActionUserPromoted)); n != 1 {
		t.Fatalf("promotions audited: %d", n)
	}
	if n := len(auditEntries(t, f.app, models.ActionUserDemoted)); n != 1 {
		t.Fatalf("demotions audited: %d", n)
	}
}

func TestAdminLastAdminRule(t *testing.T) {
	f := newAdminFixture(t)
	self := strconv.Itoa(int(f.adminUser.ID))
	for _, action := range []string{"demote", "disable", "delete"} {
		rec := f.admin.post("/admin/users/"+self+"/"+action, nil)
		if rec.Code != http.StatusSeeOther {
			t.Fatalf("%s: %d", action, rec.Code)
		}
		page := f.admin.get("/admin/users")
		if !strings.Contains(testid(t, page, "flash"), "last enabled admin") {
			t.Fatalf("%s: no last-admin notice (%q)", action, testid(t, page, "flash"))
		}
		u := f.reload(t, f.adminUser.ID)
		if u.Role != models.RoleAdmin || u.Disabled {
			t.Fatalf("%s removed the last admin: %+v", action, u)
		}
	}
	if n := len(auditEntries(t, f.app, models.ActionUserDemoted)) + len(auditEntries(t, f.app, models.ActionUserDisabled)) +
		len(auditEntries(t, f.app, models.ActionUserDeleted)); n != 0 {
		t.Fatalf("refused actions audited as done: %d", n)
	}
	// With a second admin, the first may step down.
	f.admin.post(fmt.Sprintf("/admin/users/%d/promote", f.target.ID), nil)
	f.admin.post("/admin/users/"+self+"/demote", nil)
	if f.reload(t, f.adminUser.ID).Role != models.RoleUser {
		t.Fatal("demotion refused although another admin exists")
	}
}

func TestAdminDeleteUser(t *testing.T) {
	f := newAdminFixture(t)
	f.app.createEvent(f.target.ID, "Second plan", "public")
	id := strconv.Itoa(int(f.target.ID))
	rec := f.admin.get("/admin/users/" + id + "/delete")
	if testid(t, rec, "delete-email") != "target@example.com" || testid(t, rec, "delete-events") != "2" {
		t.Fatalf("confirmation: %q %q", testid(t, rec, "delete-email"), testid(t, rec, "delete-events"))
	}
	if rec := f.admin.post("/admin/users/"+id+"/delete", nil); rec.Code != http.StatusSeeOther {
		t.Fatalf("delete: %d", rec.Code)
	}
	if _, err := models.NewUsers(f.app.db).ByID(context.Background(), f.target.ID); err == nil {
		t.Fatal("user still there")
	}
	if n, _ := models.NewEvents(f.app.db).CountByCreator(context.Background(), f.target.ID); n != 0 {
		t.Fatalf("%d events left", n)
	}
	e := auditEntries(t, f.app, models.ActionUserDeleted)
	if len(e) != 1 || e[0].Target != "target@example.com" {
		t.Fatalf("audit %+v", e)
	}
	if rec := f.admin.get("/admin/users/" + id + "/delete"); rec.Code != http.StatusNotFound {
		t.Fatalf("confirmation for a deleted user: %d", rec.Code)
	}
	// History survives: the audit page still names the deleted user.
	if rec := f.admin.get("/admin/audit?action=user_deleted"); testid(t, rec, "audit-target") != "target@example.com" {
		t.Fatalf("audit page: %q", testid(t, rec, "audit-target"))
	}
}

func TestAdminUnlockAndRevoke(t *testing.T) {
	f := newAdminFixture(t)
	c := f.app.client()
	for i := 0; i < 5; i++ {
		c.post("/login", url.Values{"email": {"target@example.com"}, "password": {"wrong-password"}})
	}
	if rec := c.post("/login", url.Values{"email": {"target@example.com"}, "password": {goodPassword}}); rec.Code != http.StatusTooManyRequests {
		t.Fatalf("not throttled: %d", rec.Code)
	}
	if testid(t, f.admin.get("/admin"), "stat-throttled") != "1" {
		t.Fatal("dashboard does not count the throttled pair")
	}
	f.admin.post(fmt.Sprintf("/admin/users/%d/unlock", f.target.ID), nil)
	c.login("target@example.com", goodPassword)
	f.admin.post(fmt.Sprintf("/admin/users/%d/revoke", f.target.ID), nil)
	if rec := c.get("/account"); rec.Code != http.StatusSeeOther {
		t.Fatalf("session survived revoke: %d", rec.Code)
	}
	for _, a := range []string{models.ActionUserUnlocked, models.ActionSessionsRevoked} {
		if n := len(auditEntries(t, f.app, a)); n != 1 {
			t.Fatalf("%s audited %d times", a, n)
		}
	}
}

func TestAdminListsAndAudit(t *testing.T) {
	f := newAdminFixture(t)
	for i := 0; i < adminPageSize+3; i++ {
		f.app.createUser(fmt.Sprintf("bulk%02d@example.com", i), goodPassword, models.RoleUser)
	}
	rec := f.admin.get("/admin/users?q=BULK")
	if n := doc(t, rec).Find(`[data-testid="user-row"]`).Length(); n != adminPageSize {
		t.Fatalf("first page rows: %d", n)
	}
	next, _ := doc(t, rec).Find(`[data-testid="next-page"]`).Attr("href")
	rec = f.admin.get(next)
	if n := doc(t, rec).Find(`[data-testid="user-row"]`).Length(); n != 3 {
		t.Fatalf("second page rows: %d", n)
	}
	if doc(t, rec).Find(`[data-testid="prev-page"]`).Length() != 1 {
		t.Fatal("no previous link")
	}
	// Private events of others are listed for the admin.
	rec = f.admin.get("/admin/events")
	if !strings.Contains(rec.Body.String(), "Target&#39;s private plan") {
		t.Fatal("private event missing from the admin list")
	}
	if rec := f.admin.post(fmt.Sprintf("/admin/events/%d/delete", f.event.ID), nil); rec.Code != http.StatusSeeOther {
		t.Fatalf("delete event: %d", rec.Code)
	}
	if e := auditEntries(t, f.app, models.ActionEventDeletedAdmin); len(e) != 1 || !strings.Contains(e[0].Target, "target@example.com") {
		t.Fatalf("event deletion audit %+v", e)
	}
	// The audit page: newest first, filters by action and by user.
	rec = f.admin.get("/admin/audit")
	if first := doc(t, rec).Find(`[data-testid="audit-action"]`).First().Text(); first != models.ActionEventDeletedAdmin {
		t.Fatalf("newest entry is %q", first)
	}
	rec = f.admin.get("/admin/audit?action=signin&user=USER@example.com")
	rows := doc(t, rec).Find(`[data-testid="audit-row"]`)
	if rows.Length() != 1 || !strings.Contains(rows.Text(), "user@example.com") {
		t.Fatalf("filtered audit: %d rows", rows.Length())
	}
}

// TestAdminChart renders the dashboard with known data and checks the bars.
func TestAdminChart(t *testing.T) {
	app := newTestApp(t)
	admin := app.createUser("root@example.com", goodPassword, models.RoleAdmin)
	day := func(daysAgo int) time.Time {
		return time.Now().UTC().Truncate(24*time.Hour).AddDate(0, 0, -daysAgo).Add(12 * time.Hour)
	}
	// Sign-ups: 4 today (the admin plus 3), 2 five days ago, 1 long ago (outside the chart).
	setCreated := func(table string, id uint, at time.Time) {
		if err := app.db.Exec("UPDATE "+table+" SET created_at = ? WHERE id = ?", at, id).Error; err != nil {
			t.Fatal(err)
		}
	}
	for i := 0; i < 3; i++ {
		app.createUser(fmt.Sprintf("today%d@example.com", i), goodPassword, models.RoleUser)
	}
	for i := 0; i < 2; i++ {
		u := app.createUser(fmt.Sprintf("five%d@example.com", i), goodPassword, models.RoleUser)
		setCreated("users", u.ID, day(5))
	}
	old := app.createUser("old@example.com", goodPassword, models.RoleUser)
	setCreated("users", old.ID, day(45))
	// Events: 8 today, 2 twenty-nine days ago.
	for i := 0; i < 8; i++ {
		app.createEvent(admin.ID, fmt.Sprintf("e%d", i), "public")
	}
	for i := 0; i < 2; i++ {
		e := app.createEvent(admin.ID, fmt.Sprintf("old%d", i), "private")
		setCreated("events", e.ID, day(29))
	}
	c := app.client()
	c.login("root@example.com", goodPassword)
	rec := c.get("/admin")
	d := doc(t, rec)
	if testid(t, rec, "stat-users") != "7" || testid(t, rec, "stat-events") != "10" || testid(t, rec, "stat-admins") != "1" || testid(t, rec, "stat-signins") != "1" {
		t.Fatalf("counts: users %s events %s admins %s signins %s", testid(t, rec, "stat-users"), testid(t, rec, "stat-events"),
			testid(t, rec, "stat-admins"), testid(t, rec, "stat-signins"))
	}
	bars := d.Find(`svg.chart rect.bar`)
	if bars.Length() != 60 {
		t.Fatalf("%d bars, want 60", bars.Length())
	}
	// The scale tops out at 8 (the largest value, already round): 8 events
	// fill the plot, 4 sign-ups half of it, 2 a quarter.
	plotH := 260 - 28 - 36
	want := map[int]int{ // bar index → value
		2*29 + 0: 4, // today, sign-ups
		2*29 + 1: 8, // today, events
		2*24 + 0: 2, // five days ago, sign-ups
		2*0 + 1:  2, // 29 days ago, events
	}
	bars.Each(func(i int, s *goqueryS) {
		v, _ := strconv.Atoi(s.AttrOr("data-value", ""))
		h, _ := strconv.Atoi(s.AttrOr("height", ""))
		if w, ok := want[i]; ok && v != w {
			t.Errorf("bar %d value %d, want %d", i, v, w)
		}
		if !(i == 58 || i == 59 || i == 48 || i == 1) && v != 0 {
			t.Errorf("bar %d has value %d", i, v)
		}
		if wantH := int(float64(v)/8*float64(plotH) + 0.5); h != wantH {
			t.Errorf("bar %d height %d, want %d", i, h, wantH)
		}
	})
	if d.Find("svg.chart text.legend-label").Length() != 2 || !strings.Contains(d.Find("svg.chart").Text(), "8") {
		t.Fatal("legend or axis labels missing")
	}
}

// TestBrowserAdminDisablesUser: an admin signs in, finds a user, disables
// them, and the audit log shows it.
func TestBrowserAdminDisablesUser(t *testing.T) {
	app := newTestApp(t)
	app.createUser("root@example.com", goodPassword, models.RoleAdmin)
	app.createUser("mallory@example.com", goodPassword, models.RoleUser)
	app.createUser("alice@example.com", goodPassword, models.RoleUser)
	base := app.serve(t)
	ctx := browser(t)
	step := func(what string, actions ...chromedp.Action[chromedp.Void]) {
		t.Helper()
		if err := chromedp.Do(ctx, actions...); err != nil {
			t.Fatalf("%s: %v", what, err)
		}
	}
	step("sign in",
		chromedp.Navigate(base+"/login?next=/admin"),
		chromedp.SendKeys(chromedp.ID("email"), "root@example.com"),
		chromedp.SendKeys(chromedp.ID("password"), goodPassword),
		chromedp.Click(chromedp.CSS(`[data-testid="login-submit"]`)),
		chromedp.WaitVisible(chromedp.CSS(`[data-testid="chart"]`)),
	)
	step("find the user",
		chromedp.Navigate(base+"/admin/users"),
		chromedp.SendKeys(chromedp.ID("q"), "mallory"),
		chromedp.Submit(chromedp.ID("q")),
		chromedp.WaitNotPresent(chromedp.CSS(`[data-email="alice@example.com"]`)),
		chromedp.WaitVisible(chromedp.CSS(`[data-email="mallory@example.com"]`)),
	)
	rows, err := chromedp.Run(ctx, chromedp.Evaluate[int](`document.querySelectorAll('[data-testid="user-row"]').length`))
	if err != nil || rows != 1 {
		t.Fatalf("search shows %d rows (%v)", rows, err)
	}
	step("disable",
		chromedp.Click(chromedp.CSS(`[data-email="mallory@example.com"] [data-testid="user-disable"]`)),
		chromedp.WaitVisible(chromedp.CSS(`[data-testid="flash"]`)),
	)
	status, err := chromedp.Run(ctx, chromedp.Text(chromedp.CSS(`[data-email="mallory@example.com"] .badge.disabled`)))
	if err != nil || status != "disabled" {
		t.Fatalf("status after disable: %q (%v)", status, err)
	}
	step("audit log",
		chromedp.Navigate(base+"/admin/audit?action=user_disabled"),
		chromedp.WaitVisible(chromedp.CSS(`[data-testid="audit-target"]`)),
	)
	target, err := chromedp.Run(ctx, chromedp.Text(chromedp.CSS(`[data-testid="audit-target"]`)))
	if err != nil || strings.TrimSpace(target) != "mallory@example.com" {
		t.Fatalf("audit shows %q (%v)", target, err)
	}
}

// TestAdminSearchHostileInput: a NUL or invalid UTF-8 in the admin's
// searches finds nothing instead of failing (PostgreSQL refuses NUL).
func TestAdminSearchHostileInput(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, db *gorm.DB) {
		app := newTestAppOn(t, db)
		app.createUser("root@example.com", goodPassword, models.RoleAdmin)
		c := app.client()
		c.login("root@example.com", goodPassword)
		for _, p := range []string{"/admin/users?q=%00", "/admin/users?q=%ff", "/admin/events?q=%00", "/admin/audit?user=%00&action=%00"} {
			if rec := c.get(p); rec.Code != http.StatusOK {
				t.Errorf("%s: %d", p, rec.Code)
			}
		}
	})
}

// userRowOf is the row of email on the admin's users page.
func userRowOf(t *testing.T, c *client, email string) *goqueryS {
	t.Helper()
	row := doc(t, c.get("/admin/users")).Find(`[data-testid="user-row"][data-email="` + email + `"]`)
	if row.Length() != 1 {
		t.Fatalf("%d rows for %s", row.Length(), email)
	}
	return row
}

// TestAdminUserRowOffersWhatApplies: Unlock only while the user's sign-in
// is throttled, Promote or Demote, Disable or Enable, Reset two-factor only
// with a second factor, and every button names its user.
func TestAdminUserRowOffersWhatApplies(t *testing.T) {
	f := newAdminFixture(t)
	has := func(row *goqueryS, action string) bool {
		return row.Find(`[data-testid="user-`+action+`"]`).Length() == 1
	}
	row := userRowOf(t, f.admin, "target@example.com")
	if has(row, "unlock") || row.Find(`[data-testid="user-locked"]`).Length() != 0 {
		t.Fatal("Unlock offered for a user whose sign-in is not throttled")
	}
	if !has(row, "promote") || has(row, "demote") || !has(row, "disable") || has(row, "enable") || has(row, "mfa/reset") || !has(row, "revoke") {
		t.Fatalf("actions of a plain user: %q", row.Find("button").Text())
	}
	if got := strings.TrimSpace(row.Find(`[data-testid="user-disable"]`).Text()); got != "Disable target@example.com" {
		t.Fatalf("Disable button's name %q", got)
	}
	// Four failures: counted, not locked; the fifth locks.
	c := f.app.client()
	for i := 0; i < 4; i++ {
		c.post("/login", url.Values{"email": {"target@example.com"}, "password": {"wrong-password"}})
	}
	if has(userRowOf(t, f.admin, "target@example.com"), "unlock") {
		t.Fatal("Unlock offered before the limit")
	}
	c.post("/login", url.Values{"email": {"target@example.com"}, "password": {"wrong-password"}})
	row = userRowOf(t, f.admin, "target@example.com")
	if !has(row, "unlock") || !strings.Contains(row.Find(`[data-testid="user-locked"]`).Text(), "locked until") {
		t.Fatal("no Unlock for a throttled user")
	}
	if has(userRowOf(t, f.admin, "user@example.com"), "unlock") {
		t.Fatal("Unlock offered to another user than the throttled one")
	}
	f.admin.post(fmt.Sprintf("/admin/users/%d/unlock", f.target.ID), nil)
	if has(userRowOf(t, f.admin, "target@example.com"), "unlock") {
		t.Fatal("Unlock still offered after unlocking")
	}
	// The admin: Demote, not Promote. A disabled user: Enable.
	row = userRowOf(t, f.admin, "root@example.com")
	if !has(row, "demote") || has(row, "promote") {
		t.Fatal("admin row: want Demote only")
	}
	f.admin.post(fmt.Sprintf("/admin/users/%d/disable", f.target.ID), nil)
	row = userRowOf(t, f.admin, "target@example.com")
	if !has(row, "enable") || has(row, "disable") {
		t.Fatal("disabled row: want Enable only")
	}
}

// TestAdminFlashNamesTheUser: the notice after each action names who it
// was done to, as text.
func TestAdminFlashNamesTheUser(t *testing.T) {
	f := newAdminFixture(t)
	odd := f.app.createUser("o'<b>x</b>@example.com", goodPassword, models.RoleUser)
	id := idString(odd.ID)
	enableTOTP(t, f.app.db, odd, time.Now())
	for _, tc := range []struct{ action, want string }{
		{"promote", "Promoted o'<b>x</b>@example.com to admin."},
		{"demote", "o'<b>x</b>@example.com is no longer an admin."},
		{"disable", "Disabled o'<b>x</b>@example.com."},
		{"enable", "Enabled o'<b>x</b>@example.com"},
		{"revoke", "Sessions revoked for o'<b>x</b>@example.com"},
		{"unlock", "Sign-in throttling cleared for o'<b>x</b>@example.com."},
		{"mfa/reset", "Two-factor sign-in is off for o'<b>x</b>@example.com."},
		{"delete", "Deleted o'<b>x</b>@example.com and the events they created."},
	} {
		rec := f.admin.post("/admin/users/"+id+"/"+tc.action, url.Values{"back": {"/admin/users?q=x"}})
		if rec.Code != http.StatusSeeOther {
			t.Fatalf("%s: %d", tc.action, rec.Code)
		}
		page := f.admin.get(rec.Header().Get("Location"))
		flash := doc(t, page).Find(`[data-testid="flash"]`)
		if !strings.HasPrefix(flash.Text(), tc.want) || flash.Find("b").Length() != 0 {
			t.Errorf("%s: flash %q, want %q", tc.action, flash.Text(), tc.want)
		}
	}
}

// TestAdminFlashSubjectIsSigned: a flash cookie naming a user that the
// server did not set (planted by a sibling origin) shows the plain notice
// of its key, never the planted text.
func TestAdminFlashSubjectIsSigned(t *testing.T) {
	f := newAdminFixture(t)
	rec := f.admin.post(fmt.Sprintf("/admin/users/%d/revoke", f.target.ID), nil)
	set := setCookie(rec, flashCookie)
	if set == nil {
		t.Fatal("no flash cookie")
	}
	raw, _ := url.QueryUnescape(set.Value)
	forged := strings.Replace(raw, "target@example.com", "Call +1 555 0100 now", 1)
	other := f.app.client()
	other.login("user@example.com", goodPassword)
	for name, tc := range map[string]struct {
		c     *client
		value string
	}{"forged subject": {f.admin, forged}, "another session": {other, raw}} {
		req := httptest.NewRequest(http.MethodGet, "/admin/users", nil)
		req.AddCookie(&http.Cookie{Name: flashCookie, Value: url.QueryEscape(tc.value)})
		if tc.c == other {
			req.URL.Path = "/account"
		}
		got := testid(t, tc.c.do(req), "flash")
		if got != flashMessages["sessions_revoked"] {
			t.Errorf("%s: flash %q", name, got)
		}
	}
}

// TestAdminDeleteEventAsks: Delete on the list is a link to a confirmation
// page naming the event; only its POST deletes, with a notice naming it.
func TestAdminDeleteEventAsks(t *testing.T) {
	f := newAdminFixture(t)
	list := doc(t, f.admin.get("/admin/events"))
	if list.Find(`form[action$="/delete"]`).Length() != 0 {
		t.Fatal("the list deletes in one click")
	}
	href, _ := list.Find(`[data-testid="admin-delete-event"]`).Attr("href")
	want := fmt.Sprintf("/admin/events/%d/delete", f.event.ID)
	if href != want {
		t.Fatalf("delete link %q, want %q", href, want)
	}
	rec := f.admin.get(href)
	if rec.Code != http.StatusOK || testid(t, rec, "delete-event-title") != "Target's private plan" ||
		testid(t, rec, "delete-event-creator") != "target@example.com" {
		t.Fatalf("confirmation: %d %q", rec.Code, testid(t, rec, "delete-event-title"))
	}
	form := doc(t, rec).Find(`form[method="post"][action="` + want + `"]`)
	if form.Length() != 1 || form.Find(`input[name="_csrf"]`).Length() != 1 {
		t.Fatal("no confirming form with CSRF")
	}
	if _, err := models.NewEvents(f.app.db).Get(context.Background(), f.event.ID); err != nil {
		t.Fatalf("the confirmation page deleted the event: %v", err)
	}
	if rec := f.user.get(href); rec.Code != http.StatusForbidden {
		t.Fatalf("a user sees the admin's confirmation: %d", rec.Code)
	}
	for _, bad := range []string{"/admin/events/0/delete", "/admin/events/x/delete", "/admin/events/99999/delete"} {
		if rec := f.admin.get(bad); rec.Code != http.StatusNotFound {
			t.Errorf("GET %s: %d", bad, rec.Code)
		}
	}
	rec = f.admin.post(want, nil)
	if rec.Code != http.StatusSeeOther || rec.Header().Get("Location") != "/admin/events" {
		t.Fatalf("delete: %d %q", rec.Code, rec.Header().Get("Location"))
	}
	if got := testid(t, f.admin.get("/admin/events"), "flash"); got != "Deleted the event “Target's private plan”." {
		t.Fatalf("flash %q", got)
	}
	if _, err := models.NewEvents(f.app.db).Get(context.Background(), f.event.ID); err == nil {
		t.Fatal("event still there")
	}
}

// TestFlashAboutHasFallbacks: every notice that names its subject has a
// plain one to fall back on, and exactly one place for the subject.
func TestFlashAboutHasFallbacks(t *testing.T) {
	for key, text := range flashAbout {
		if flashMessages[key] == "" {
			t.Errorf("%s: no plain notice", key)
		}
		if strings.Count(text, "%") != 1 || !strings.Contains(text, "%s") {
			t.Errorf("%s: %q needs exactly one %%s", key, text)
		}
	}
}
