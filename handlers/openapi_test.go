package handlers

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

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
	if strings.Contains(rec.Body.String(), "<script") || strings.Contains(rec.Body.String(), "cdn") {
		t.Fatal("docs page loads scripts")
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
