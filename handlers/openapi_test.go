package handlers

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/PuerkitoBio/goquery"
	cdppage "github.com/chromedp/cdproto/page"
	"github.com/chromedp/chromedp"
	"github.com/getkin/kin-openapi/openapi3"
	"github.com/getkin/kin-openapi/openapi3filter"
	"github.com/getkin/kin-openapi/routers"
	"github.com/getkin/kin-openapi/routers/legacy"
	"github.com/planner/planner/models"
)

func loadOpenAPI(t *testing.T, app *testApp) (*openapi3.T, routers.Router) {
	t.Helper()
	rec := app.client().get("/api/openapi.json")
	if rec.Code != 200 || !strings.HasPrefix(rec.Header().Get("Content-Type"), "application/json") {
		t.Fatalf("openapi.json: %d", rec.Code)
	}
	loader := openapi3.NewLoader()
	doc, err := loader.LoadFromData(rec.Body.Bytes())
	if err != nil {
		t.Fatalf("load: %v", err)
	}
	if doc.OpenAPI != "3.1.0" {
		t.Fatalf("openapi version %q", doc.OpenAPI)
	}
	if err := doc.Validate(loader.Context); err != nil {
		t.Fatalf("the document is not valid OpenAPI: %v", err)
	}
	router, err := legacy.NewRouter(doc)
	if err != nil {
		t.Fatal(err)
	}
	return doc, router
}

// TestOpenAPICoversEveryAPIRoute walks the router: an /api route missing
// from the document fails the test.
func TestOpenAPICoversEveryAPIRoute(t *testing.T) {
	app := newTestApp(t)
	doc, _ := loadOpenAPI(t, app)
	n := 0
	for _, r := range app.e.Routes() {
		if !isAPI(r.Path) || strings.HasSuffix(r.Name, "NotFoundHandler") || strings.Contains(r.Path, "*") || r.Method == "echo_route_any" {
			continue
		}
		path := r.Path
		if path == "/api/event" {
			path = "/api/event/" // the same operation, also served without the slash
		}
		path = strings.ReplaceAll(path, ":id", "{id}")
		item := doc.Paths.Find(path)
		if item == nil || item.GetOperation(r.Method) == nil {
			t.Errorf("%s %s is not in the OpenAPI document", r.Method, path)
		}
		n++
	}
	if n < 10 {
		t.Fatalf("only %d API routes found", n)
	}
	scheme := doc.Components.SecuritySchemes["OAuth2PasswordBearer"].Value
	if scheme.Type != "oauth2" || scheme.Flows.Password.TokenURL != "/api/user/signin" {
		t.Fatalf("security scheme %+v", scheme)
	}
}

// TestOpenAPIResponsesMatch sends real requests, including errors, and
// validates each response against the document.
func TestOpenAPIResponsesMatch(t *testing.T) {
	f := newAPIFixture(t)
	_, router := loadOpenAPI(t, f.app)
	pub := fmt.Sprintf("/api/event/%d", f.public.ID)
	priv := fmt.Sprintf("/api/event/%d", f.private.ID)
	mfaUser := f.app.createUser("mfa-openapi@example.com", goodPassword, models.RoleUser)
	enableTOTP(t, f.app.db, mfaUser, time.Now())
	calls := []struct {
		method, path, token string
		body                any
	}{
		{"POST", "/api/user/signup", "", map[string]any{"email": "new@example.com", "password": goodPassword}},
		{"POST", "/api/user/signup", "", map[string]any{"email": "new@example.com", "password": goodPassword}},
		{"POST", "/api/user/signup", "", map[string]any{"email": "bad"}},
		{"POST", "/api/user/signin", "", url.Values{"username": {"owner@example.com"}, "password": {goodPassword}}},
		{"POST", "/api/user/signin", "", url.Values{"username": {"owner@example.com"}, "password": {"nope-nope"}}},
		{"POST", "/api/user/signin", "", url.Values{"username": {"x"}, "password": {"y"}, "grant_type": {"implicit"}}},
		{"POST", "/api/user/signin", "", url.Values{"username": {mfaUser.Email}, "password": {goodPassword}}},
		{"POST", "/api/user/signin", "", url.Values{"grant_type": {GrantMFAOTP}, "mfa_token": {"not-a-token"}, "otp": {"123456"}}},
		{"POST", "/api/user/signin", "", url.Values{"grant_type": {GrantMFAOTP}}},
		{"GET", "/api/user/me", f.owner, nil},
		{"GET", "/api/user/me", "", nil},
		{"GET", "/api/event/", "", nil},
		{"GET", "/api/event/?limit=1", f.owner, nil},
		{"GET", "/api/event/?limit=0", "", nil},
		{"GET", pub, "", nil},
		{"GET", priv, f.owner, nil},
		{"GET", priv, "", nil},
		{"POST", "/api/event/new", f.owner, map[string]any{"title": "Fresh", "tags": []string{"a"}}},
		{"POST", "/api/event/new", f.owner, map[string]any{}},
		{"PUT", pub, f.owner, map[string]any{"location": "Here"}},
		{"PUT", pub, f.other, map[string]any{"location": "Here"}},
		{"PUT", pub, f.owner, `{"title":`},
		{"DELETE", priv, f.other, nil},
		{"DELETE", priv, f.owner, nil},
		{"POST", "/api/user/signout", f.other, nil},
	}
	for _, call := range calls {
		t.Run(call.method+" "+call.path, func(t *testing.T) {
			rec := f.c.api(call.method, call.path, call.token, call.body)
			req := httptest.NewRequest(call.method, "http://planner.test"+call.path, nil)
			route, params, err := router.FindRoute(req)
			if err != nil {
				t.Fatalf("no route in the document: %v", err)
			}
			input := &openapi3filter.ResponseValidationInput{
				RequestValidationInput: &openapi3filter.RequestValidationInput{Request: req, PathParams: params, Route: route},
				Status:                 rec.Code,
				Header:                 rec.Header(),
				Body:                   io.NopCloser(bytes.NewReader(rec.Body.Bytes())),
				Options:                &openapi3filter.Options{IncludeResponseStatus: true},
			}
			if err := openapi3filter.ValidateResponse(context.Background(), input); err != nil {
				t.Fatalf("%d %s does not match the document: %v", rec.Code, rec.Body.String(), err)
			}
		})
	}
}

func TestAPIDocsPage(t *testing.T) {
	app := newTestApp(t)
	rec := app.client().get("/api/docs")
	if rec.Code != http.StatusOK || !strings.HasPrefix(rec.Header().Get("Content-Type"), "text/html") {
		t.Fatalf("docs: %d", rec.Code)
	}
	d := doc(t, rec)
	if got := d.Find(`[data-testid="api-op"]`).Length(); got != len(apiOps()) {
		t.Fatalf("%d operations on the page, want %d", got, len(apiOps()))
	}
	for _, op := range apiOps() {
		if !strings.Contains(d.Text(), op.path) {
			t.Errorf("%s missing from the docs page", op.path)
		}
	}
	// Scripts only from /static (ours and the vendored Swagger UI), none
	// inline, nothing from elsewhere.
	d.Find("script").Each(func(_ int, s *goquery.Selection) {
		src, ok := s.Attr("src")
		if !ok || !strings.HasPrefix(src, "/static/") || strings.TrimSpace(s.Text()) != "" {
			t.Errorf("docs page script %q (inline %q)", src, s.Text())
		}
	})
	if strings.Contains(rec.Body.String(), "cdn") || strings.Contains(rec.Body.String(), "//unpkg") {
		t.Fatal("docs page loads from a CDN")
	}
	// Markdown code spans in descriptions become <code>, not backticks.
	if strings.Contains(d.Find("#api-reference-plain").Text(), "`") {
		t.Error("backticks shown literally in the plain reference")
	}
	for _, asset := range []string{"/static/swagger-ui/swagger-ui-bundle.js", "/static/swagger-ui/swagger-ui.css", "/static/api-docs.js"} {
		if rec := app.client().get(asset); rec.Code != http.StatusOK {
			t.Errorf("%s: %d", asset, rec.Code)
		}
	}
}

// TestPublicOperationsDeclareNoSecurity: an operation anyone may call says
// so with `security: []`, and every other one names the bearer scheme.
func TestPublicOperationsDeclareNoSecurity(t *testing.T) {
	doc := openAPIDocument("http://planner.test")
	for path, item := range doc["paths"].(map[string]any) {
		for method, op := range item.(map[string]any) {
			sec, ok := op.(map[string]any)["security"].([]any)
			if !ok {
				t.Errorf("%s %s declares no security", method, path)
				continue
			}
			for _, a := range apiOps() {
				if a.path == path && strings.EqualFold(a.method, method) && (a.auth == "") != (len(sec) == 0) {
					t.Errorf("%s %s (auth %q) has security %v", method, path, a.auth, sec)
				}
			}
		}
	}
}

// TestOpenAPIPassesRedocly lints the served document with Redocly's CLI
// and the rules in .ci/redocly.yaml: any error fails. .ci/run installs the
// CLI at a pinned version and names it in PLANNER_REDOCLY; without it the
// test is skipped, except in CI.
func TestOpenAPIPassesRedocly(t *testing.T) {
	bin := os.Getenv("PLANNER_REDOCLY")
	if bin == "" {
		if os.Getenv("CI") == "true" {
			t.Fatal("PLANNER_REDOCLY is not set in CI")
		}
		t.Skip("PLANNER_REDOCLY not set (the path of Redocly's CLI; .ci/run installs it)")
	}
	rec := newTestApp(t).client().get("/api/openapi.json")
	if rec.Code != http.StatusOK {
		t.Fatalf("openapi.json: %d", rec.Code)
	}
	file := filepath.Join(t.TempDir(), "openapi.json")
	if err := os.WriteFile(file, rec.Body.Bytes(), 0o600); err != nil {
		t.Fatal(err)
	}
	config, err := filepath.Abs(filepath.Join("..", ".ci", "redocly.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(bin, "lint", "--config", config, "--format", "stylish", file)
	cmd.Env = append(os.Environ(), "REDOCLY_TELEMETRY=off", "REDOCLY_SUPPRESS_UPDATE_NOTICE=true")
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("redocly lint: %v\n%s", err, out)
	}
	t.Logf("redocly lint:\n%s", out)
}

// TestBrowserAPIDocs opens /api/docs in Chromium: the interactive reference
// renders every operation from /api/openapi.json under Planner's own CSP
// without a single violation, hides the plain reference, and "try it out"
// on the public list really calls the API.
func TestBrowserAPIDocs(t *testing.T) {
	// The document's server is PLANNER_BASE_URL, so the app must know the
	// address it will be served on before it starts.
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	base := "http://" + ln.Addr().String()
	app := newTestApp(t, func(c *Config) { c.BaseURL, _ = url.Parse(base) })
	srv := httptest.NewUnstartedServer(app.e)
	srv.Listener.Close()
	srv.Listener = ln
	srv.Start()
	t.Cleanup(srv.Close)
	ada := app.createUser("ada@example.com", goodPassword, "user")
	app.createEvent(ada.ID, "Launch party", "public", "go")
	ctx := browser(t)
	if _, err := chromedp.Call(ctx, cdppage.AddScriptToEvaluateOnNewDocument, cdppage.AddScriptToEvaluateOnNewDocumentParams{
		Source: `window.__csp = []; document.addEventListener('securitypolicyviolation',
			e => window.__csp.push(e.violatedDirective + ' ' + e.blockedURI), true);`,
	}); err != nil {
		t.Fatal(err)
	}
	resp, err := chromedp.Run(ctx, chromedp.NavigateResponse(base+"/api/docs"))
	if err != nil {
		t.Fatal(err)
	}
	if csp, _ := resp.Headers["Content-Security-Policy"].(string); csp != contentSecurityPolicy {
		t.Fatalf("docs CSP %q", csp)
	}
	ops, err := chromedp.Run(ctx, chromedp.Poll[int](`document.querySelector('#swagger-ui[data-state=ready]') &&
		document.querySelectorAll('#swagger-ui .opblock').length`,
		chromedp.WithPollingInterval(50*time.Millisecond), chromedp.WithPollingTimeout(20*time.Second)))
	if err != nil {
		t.Fatalf("Swagger UI did not render: %v", err)
	}
	if want := len(apiOps()); ops != want {
		t.Errorf("%d operations shown, want %d", ops, want)
	}
	hidden, err := chromedp.Run(ctx, chromedp.Evaluate[bool](`document.getElementById('api-reference-plain').hidden`))
	if err != nil || !hidden {
		t.Errorf("plain reference still shown beside the interactive one (%v)", err)
	}
	// Try the public list: expand it, "Try it out", "Execute".
	listOp := `#swagger-ui .opblock-get:has(.opblock-summary-path[data-path="/api/event/"])`
	if err := chromedp.Do(ctx,
		chromedp.Click(chromedp.CSS(listOp+` .opblock-summary-control`)),
		chromedp.Click(chromedp.CSS(listOp+` .try-out__btn`)),
		chromedp.Click(chromedp.CSS(listOp+` .execute`)),
	); err != nil {
		t.Fatalf("try it out: %v", err)
	}
	body, err := chromedp.Run(ctx, chromedp.Poll[string](`(() => {
		const r = document.querySelector('`+listOp+` .responses-wrapper .live-responses-table .response-col_description pre');
		return r && r.textContent.includes('Launch party') ? r.textContent : null;
	})()`, chromedp.WithPollingInterval(50*time.Millisecond), chromedp.WithPollingTimeout(20*time.Second)))
	if err != nil || !strings.Contains(body, "creator_name") {
		t.Errorf("try it out did not show the API's answer: %q (%v)", body, err)
	}
	violations, err := chromedp.Run(ctx, chromedp.Evaluate[[]string](`window.__csp`))
	if err != nil || len(violations) > 0 {
		t.Errorf("CSP violations on /api/docs: %v (%v)", violations, err)
	}
	screenshot(t, ctx, "api-docs.png")
}
