package handlers

import (
	"encoding/json"
	"net/http"
	"sort"
	"strings"

	"github.com/labstack/echo/v4"
	"github.com/planner/planner/views"
)

// Docs serves the API's OpenAPI 3.1 description and a readable page made
// from the same operations, so the two cannot disagree.
type Docs struct {
	cfg Config
}

// apiOp is one operation of the API, the single source of the OpenAPI
// document and the docs page.
type apiOp struct {
	method, path, id, summary, description string
	auth                                   string // "" none, "optional", "required"
	params                                 []apiParam
	body                                   *apiBody
	responses                              []apiResp
}

type apiParam struct {
	in, name, description string
	schema                map[string]any
	required              bool
}

type apiBody struct {
	contentType, schema string
}

type apiResp struct {
	code, description, schema string
	headers                   []string
}

func ref(name string) map[string]any { return map[string]any{"$ref": "#/components/schemas/" + name} }

var (
	respUnauthorized = apiResp{"401", "Missing, bad, expired or revoked token (`Not authenticated` or `Invalid or expired token`), with `WWW-Authenticate`", "HTTPError", []string{"WWW-Authenticate"}}
	respInvalid      = apiResp{"422", "Invalid input", "ValidationError", nil}
	respMalformed    = apiResp{"400", "Malformed JSON", "HTTPError", nil}
	respTooLarge     = apiResp{"413", "Body over 1 MiB", "HTTPError", nil}
	respNotFound     = apiResp{"404", "`Event with supplied ID does not exist` (also for events the caller may not see)", "HTTPError", nil}
	respForbidden    = apiResp{"403", "`Operation not allowed`: the event is visible but not the caller's", "HTTPError", nil}
	respRateLimited  = apiResp{"429", "Too many attempts from this client", "HTTPError", []string{"Retry-After"}}
	idParam          = apiParam{"path", "id", "Event id", map[string]any{"type": "integer", "minimum": 1}, true}
)

// apiOps lists every API operation.
func apiOps() []apiOp {
	return []apiOp{
		{method: "POST", path: "/api/user/signup", id: "signup", summary: "Create an account",
			description: "Creates a user. The email is unique case-insensitively; the password is 8–72 bytes, not the email and not a common password. Rate-limited per client IP.",
			body:        &apiBody{"application/json", "SignupRequest"},
			responses: []apiResp{{"200", "Created", "Message", nil}, {"409", "`User with email provided exists already.`", "HTTPError", nil},
				respMalformed, respInvalid, respRateLimited, respTooLarge}},
		{method: "POST", path: "/api/user/signin", id: "signin", summary: "Get an access token (OAuth2 password grant, then the mfa-otp grant for accounts with two-factor sign-in)",
			description: "RFC 6749 §4.3 token endpoint. Form fields `username` (the email) and `password`, optional `grant_type=password`; `scope`, `client_id` and `client_secret` are accepted and ignored. Failures count toward the sign-in throttle of the (email, client) pair.\n\n" +
				"For an account with two-factor sign-in the right password answers 401 `{\"error\": \"mfa_required\", \"mfa_token\": \"...\"}`: a signed state of its own audience, valid for 5 minutes, never usable as an access token. " +
				"Complete it with `grant_type=" + GrantMFAOTP + "`, `mfa_token` and `otp` (the 6-digit code of the authenticator app, or a recovery code, each accepted once). Wrong codes count toward the same throttle as wrong passwords.",
			body: &apiBody{"application/x-www-form-urlencoded", "SigninRequest"},
			responses: []apiResp{{"200", "The token (`Cache-Control: no-store`)", "Token", []string{"Cache-Control"}},
				{"400", "Another grant type (`unsupported_grant_type`)", "OAuthError", nil},
				{"401", "`Incorrect email or password` (`invalid_grant`), the same for unknown emails and disabled accounts; a wrong, replayed or used code, or a dead `mfa_token` (`invalid_grant`); or `mfa_required` with an `mfa_token`", "OAuthError", nil},
				respInvalid,
				{"429", "Throttled after repeated failures, or too many attempts from this client", "HTTPError", []string{"Retry-After"}},
				{"503", "Password hashing is saturated; try again", "HTTPError", []string{"Retry-After"}}}},
		{method: "POST", path: "/api/user/signout", id: "signout", summary: "Revoke the token", auth: "required",
			description: "The token is dead from then on.",
			responses:   []apiResp{{"200", "Signed out", "Message", nil}, respUnauthorized}},
		{method: "GET", path: "/api/user/me", id: "me", summary: "The caller's account", auth: "required",
			responses: []apiResp{{"200", "The caller", "User", nil}, respUnauthorized}},
		{method: "POST", path: "/api/user/password/forgot", id: "forgotPassword", summary: "Mail a password reset link",
			description: "Queues a mail with a link to `/password/reset?token=...` (30 minutes, single use, dead once the password changes) when the address is an account's. The answer is the same whether or not it is; an address gets at most 3 reset mails an hour. Rate-limited per client IP.",
			body:        &apiBody{"application/json", "ForgotPasswordRequest"},
			responses: []apiResp{{"202", "Taken (whether or not the address is an account's)", "Message", nil},
				respMalformed, respInvalid, respRateLimited, respTooLarge}},
		{method: "POST", path: "/api/user/password/reset", id: "resetPassword", summary: "Set a new password with a reset token",
			description: "The token comes from the reset mail. The new password follows the sign-up policy and must differ from the current one. Every session and token of the account ends. Rate-limited per client IP.",
			body:        &apiBody{"application/json", "ResetPasswordRequest"},
			responses: []apiResp{{"200", "Password reset; every session ended", "Message", nil},
				{"400", "Malformed JSON, or `Invalid or expired reset token` (also used, outdated, or another purpose's)", "HTTPError", nil},
				respInvalid, respRateLimited, respTooLarge,
				{"503", "Password hashing is saturated; try again", "HTTPError", []string{"Retry-After"}}}},
		{method: "GET", path: "/api/user/sessions", id: "listSessions", summary: "The caller's sessions and API tokens", auth: "required",
			description: "Every live browser session and API token of the caller, most recently seen first. `current` marks the one making the request. Last-seen times are updated at most once a minute.",
			responses:   []apiResp{{"200", "The sessions", "SessionList", nil}, respUnauthorized}},
		{method: "DELETE", path: "/api/user/sessions/{id}", id: "revokeSession", summary: "End one of the caller's sessions", auth: "required",
			params: []apiParam{{"path", "id", "Session id (from the list)", map[string]any{"type": "integer", "minimum": 1}, true}},
			responses: []apiResp{{"200", "Ended: its tokens are dead from then on", "Message", nil}, respUnauthorized,
				{"404", "`Session not found` (also another user's)", "HTTPError", nil}}},
		{method: "GET", path: "/api/event/", id: "listEvents", summary: "List events", auth: "optional",
			description: "Public events plus the caller's private ones (every event for admins), by id; with `upcoming=1` only events starting now or later, soonest first. The next page is in `Link: <url>; rel=\"next\"`.",
			params: []apiParam{
				{"query", "limit", "Page size", map[string]any{"type": "integer", "minimum": 1, "maximum": 200, "default": 50}, false},
				{"query", "cursor", "Opaque cursor from the previous page's Link header", map[string]any{"type": "string"}, false},
				{"query", "tag", "Only events with this tag", map[string]any{"type": "string", "maxLength": 30}, false},
				{"query", "q", "Case-insensitive substring of title, description or location", map[string]any{"type": "string", "maxLength": 200}, false},
				{"query", "upcoming", "1 for upcoming events only", map[string]any{"type": "string", "enum": []string{"0", "1", "true", "false"}}, false},
			},
			responses: []apiResp{{"200", "A page of events", "EventList", []string{"Link"}}, respUnauthorized, respInvalid}},
		{method: "GET", path: "/api/event/{id}", id: "getEvent", summary: "One event", auth: "optional", params: []apiParam{idParam},
			responses: []apiResp{{"200", "The event", "Event", nil}, respUnauthorized, respNotFound}},
		{method: "POST", path: "/api/event/new", id: "createEvent", summary: "Create an event", auth: "required",
			description: "The creator is always the caller. Only the settable fields are read; others are ignored.",
			body:        &apiBody{"application/json", "EventCreate"},
			responses: []apiResp{{"200", "Created; `Location: /api/event/<id>`", "EventCreated", []string{"Location"}},
				respMalformed, respUnauthorized, respInvalid, respTooLarge,
				{"403", "With `PLANNER_REQUIRE_VERIFIED`: the caller's email address is not verified", "HTTPError", nil}}},
		{method: "PUT", path: "/api/event/{id}", id: "updateEvent", summary: "Update an event (partial)", auth: "required",
			description: "A missing or null field is left unchanged; `tags` replaces the list. Checked in this order: 401, 404, 403, 422.",
			params:      []apiParam{idParam}, body: &apiBody{"application/json", "EventUpdate"},
			responses: []apiResp{{"200", "The updated event", "Event", nil}, respMalformed, respUnauthorized, respForbidden, respNotFound,
				respInvalid, respTooLarge}},
		{method: "DELETE", path: "/api/event/{id}", id: "deleteEvent", summary: "Delete an event", auth: "required", params: []apiParam{idParam},
			responses: []apiResp{{"200", "Deleted", "Message", nil}, respUnauthorized, respForbidden, respNotFound}},
		{method: "POST", path: "/api/event/{id}/rsvp", id: "rsvp", summary: "RSVP: going, or the waitlist when full", auth: "required",
			description: "The caller is going when a seat is free (or the event has no capacity), else joins the end of the waitlist. Asking again changes nothing. Never more going than the capacity, however many ask at once. Private events: only callers who may see them (owner, admins, people who already answered through the share link).",
			params:      []apiParam{idParam},
			responses: []apiResp{{"200", "The event as the caller now sees it (`my_rsvp` is `going` or `waitlisted`)", "Event", nil},
				respUnauthorized, respNotFound, {"409", "`RSVPs are closed for this event.`", "HTTPError", nil},
				{"403", "With `PLANNER_REQUIRE_VERIFIED`: the caller's email address is not verified", "HTTPError", nil}}},
		{method: "DELETE", path: "/api/event/{id}/rsvp", id: "cancelRSVP", summary: "Cancel the caller's RSVP", auth: "required",
			description: "Withdraws the caller's RSVP or waitlist place (nothing happens without one). A freed seat goes to the first waiter in the same transaction.",
			params:      []apiParam{idParam},
			responses: []apiResp{{"200", "The event as the caller now sees it (`my_rsvp` is null)", "Event", nil},
				respUnauthorized, respNotFound}},
		{method: "GET", path: "/api/event/{id}/attendees", id: "attendees", summary: "Who is going, and the waitlist", auth: "required",
			description: "For the event's owner and admins: going (in the order seats were taken) and the waitlist (in order). Others get 403, or 404 for an event they may not see.",
			params:      []apiParam{idParam},
			responses:   []apiResp{{"200", "The attendees", "Attendees", nil}, respUnauthorized, respForbidden, respNotFound}},
		{method: "GET", path: "/api/openapi.json", id: "openapi", summary: "This document",
			responses: []apiResp{{"200", "OpenAPI 3.1 description", "", nil}}},
		{method: "GET", path: "/api/docs", id: "docs", summary: "Readable API reference (HTML)",
			responses: []apiResp{{"200", "HTML page", "", nil}}},
	}
}

func schemas() map[string]any {
	str := func(extra ...any) map[string]any {
		m := map[string]any{"type": "string"}
		for i := 0; i+1 < len(extra); i += 2 {
			m[extra[i].(string)] = extra[i+1]
		}
		return m
	}
	nullableTime := map[string]any{"type": []string{"string", "null"}, "format": "date-time"}
	eventFields := func() map[string]any {
		return map[string]any{
			"title":       str("minLength", 1, "maxLength", 200),
			"image":       str("maxLength", 2048, "description", "http(s) URL, or empty"),
			"description": str("maxLength", 5000),
			"tags":        map[string]any{"type": []string{"array", "null"}, "maxItems": 10, "items": str("minLength", 1, "maxLength", 30)},
			"location":    str("maxLength", 200),
			"starts_at":   nullableTime,
			"ends_at":     nullableTime,
			"visibility":  map[string]any{"type": []string{"string", "null"}, "enum": []any{"public", "private", nil}},
			"timezone":    map[string]any{"type": []string{"string", "null"}, "maxLength": 64, "description": "IANA zone the event's times are shown in (default PLANNER_TIMEZONE)"},
			"capacity":    map[string]any{"type": []string{"integer", "null"}, "minimum": 0, "maximum": 100000, "description": "Seats, 1–100000; 0 removes the limit; null or absent leaves it unchanged (none on create)"},
			"rsvp_open":   map[string]any{"type": []string{"boolean", "null"}, "description": "Whether new RSVPs are taken (default true)"},
		}
	}
	nullable := func(m map[string]any) map[string]any {
		out := map[string]any{}
		for k, v := range m {
			if s, ok := v.(map[string]any); ok && s["type"] == "string" {
				c := map[string]any{}
				for sk, sv := range s {
					c[sk] = sv
				}
				c["type"] = []string{"string", "null"}
				v = c
			}
			out[k] = v
		}
		return out
	}
	obj := func(required []string, props map[string]any) map[string]any {
		m := map[string]any{"type": "object", "properties": props}
		if len(required) > 0 {
			m["required"] = required
		}
		return m
	}
	return map[string]any{
		"HTTPError": obj([]string{"detail"}, map[string]any{"detail": str()}),
		"OAuthError": obj([]string{"detail", "error"}, map[string]any{"detail": str(), "error": str("enum", []string{"invalid_grant", "unsupported_grant_type", "mfa_required"}),
			"mfa_token": str("description", "With `mfa_required` only: the state for the "+GrantMFAOTP+" grant")}),
		"ValidationError": obj([]string{"detail"}, map[string]any{"detail": map[string]any{"type": "array", "items": obj([]string{"loc", "msg", "type"}, map[string]any{
			"loc":  map[string]any{"type": "array", "items": str()},
			"msg":  str(),
			"type": str(),
		})}}),
		"Message": obj([]string{"message"}, map[string]any{"message": str()}),
		"SignupRequest": obj([]string{"email", "password"}, map[string]any{
			"email": str("format", "email", "maxLength", 254), "password": str("minLength", 8, "maxLength", 72),
			"name": map[string]any{"type": []string{"string", "null"}, "maxLength": 60}}),
		"SigninRequest": obj(nil, map[string]any{
			"grant_type": str("enum", []string{"password", GrantMFAOTP}, "description", "`password` (the default) needs `username` and `password`; the mfa-otp grant needs `mfa_token` and `otp`"),
			"username":   str(), "password": str(), "mfa_token": str(), "otp": str(),
			"scope": str(), "client_id": str(), "client_secret": str()}),
		"Token": obj([]string{"access_token", "token_type", "expires_in"}, map[string]any{
			"access_token": str(), "token_type": str("enum", []string{"Bearer"}), "expires_in": map[string]any{"type": "integer"}}),
		"User": obj([]string{"id", "email", "name", "role", "email_verified", "created_at"}, map[string]any{
			"id": map[string]any{"type": "integer"}, "email": str(), "name": str(), "role": str("enum", []string{"user", "admin"}),
			"email_verified": map[string]any{"type": "boolean", "description": "Whether the address was confirmed through the verification mail"},
			"created_at":     str("format", "date-time")}),
		"ForgotPasswordRequest": obj([]string{"email"}, map[string]any{"email": str("format", "email", "maxLength", 254)}),
		"ResetPasswordRequest": obj([]string{"token", "new_password"}, map[string]any{
			"token": str("maxLength", 100), "new_password": str("minLength", 8, "maxLength", 72)}),
		"Session": obj([]string{"id", "type", "created_at", "last_seen_at", "expires_at", "ip", "browser", "user_agent", "current"}, map[string]any{
			"id":           map[string]any{"type": "integer", "description": "The session's number (never its token)"},
			"type":         str("enum", []string{"browser", "api"}),
			"created_at":   str("format", "date-time", "description", "Sign-in time"),
			"last_seen_at": str("format", "date-time"),
			"expires_at":   str("format", "date-time"),
			"ip":           str(),
			"browser":      str("description", "Browser and system, read from the User-Agent"),
			"user_agent":   str(),
			"current":      map[string]any{"type": "boolean", "description": "The session making this request"},
		}),
		"SessionList": map[string]any{"type": "array", "items": ref("Session")},
		"Event": obj([]string{"id", "creator", "creator_name", "title", "image", "description", "tags", "location", "starts_at", "ends_at",
			"visibility", "created_at", "updated_at", "timezone", "capacity", "rsvp_open", "going_count", "waitlist_count", "my_rsvp"}, map[string]any{
			"timezone":       str("description", "IANA zone the event's times are shown in"),
			"capacity":       map[string]any{"type": []string{"integer", "null"}, "minimum": 1, "maximum": 100000, "description": "Seats; null for no limit"},
			"rsvp_open":      map[string]any{"type": "boolean"},
			"going_count":    map[string]any{"type": "integer", "minimum": 0},
			"waitlist_count": map[string]any{"type": "integer", "minimum": 0},
			"my_rsvp":        map[string]any{"type": []string{"string", "null"}, "enum": []any{"going", "waitlisted", nil}, "description": "The caller's RSVP; always null for anonymous callers"},
			"id":             map[string]any{"type": "integer"},
			"creator":        map[string]any{"type": []string{"string", "null"}, "description": "The creator's email, only for the creator and admins"},
			"creator_name":   str(),
			"title":          str(), "image": str(), "description": str(), "location": str(),
			"tags":       map[string]any{"type": "array", "items": str()},
			"starts_at":  nullableTime,
			"ends_at":    nullableTime,
			"visibility": str("enum", []string{"public", "private"}),
			"created_at": str("format", "date-time"),
			"updated_at": str("format", "date-time"),
		}),
		"EventList": map[string]any{"type": "array", "items": ref("Event")},
		"Attendee": obj([]string{"name", "email", "status", "answered_at", "status_since"}, map[string]any{
			"name": str(), "email": str(), "status": str("enum", []string{"going", "waitlisted"}),
			"answered_at": str("format", "date-time"), "status_since": str("format", "date-time", "description", "When the current status began (a promotion moves it)")}),
		"Attendees": obj([]string{"going", "waitlist"}, map[string]any{
			"going": map[string]any{"type": "array", "items": ref("Attendee")}, "waitlist": map[string]any{"type": "array", "items": ref("Attendee")}}),
		"EventCreate":  obj([]string{"title"}, nullable(eventFields())),
		"EventUpdate":  obj(nil, nullable(eventFields())),
		"EventCreated": obj([]string{"message", "id"}, map[string]any{"message": str(), "id": map[string]any{"type": "integer"}}),
	}
}

// openAPIDocument builds the OpenAPI 3.1 description of the API.
func openAPIDocument(base string) map[string]any {
	paths := map[string]any{}
	for _, op := range apiOps() {
		item, _ := paths[op.path].(map[string]any)
		if item == nil {
			item = map[string]any{}
			paths[op.path] = item
		}
		o := map[string]any{"operationId": op.id, "summary": op.summary}
		if op.description != "" {
			o["description"] = op.description
		}
		switch op.auth {
		case "required":
			o["security"] = []any{map[string]any{"OAuth2PasswordBearer": []string{}}}
		case "optional":
			o["security"] = []any{map[string]any{"OAuth2PasswordBearer": []string{}}, map[string]any{}}
		default: // public: say so, rather than leave it to a global default
			o["security"] = []any{}
		}
		var params []any
		for _, p := range op.params {
			params = append(params, map[string]any{"in": p.in, "name": p.name, "description": p.description, "required": p.required, "schema": p.schema})
		}
		if params != nil {
			o["parameters"] = params
		}
		if op.body != nil {
			o["requestBody"] = map[string]any{"required": true, "content": map[string]any{op.body.contentType: map[string]any{"schema": ref(op.body.schema)}}}
		}
		responses := map[string]any{}
		for _, r := range op.responses {
			resp := map[string]any{"description": r.description}
			if r.schema != "" {
				resp["content"] = map[string]any{"application/json": map[string]any{"schema": ref(r.schema)}}
			}
			if len(r.headers) > 0 {
				h := map[string]any{}
				for _, name := range r.headers {
					h[name] = map[string]any{"schema": map[string]any{"type": "string"}}
				}
				resp["headers"] = h
			}
			responses[r.code] = resp
		}
		o["responses"] = responses
		item[strings.ToLower(op.method)] = o
	}
	return map[string]any{
		"openapi": "3.1.0",
		"info": map[string]any{
			"title":       "Planner API",
			"version":     "1.0.0",
			"description": "The JSON API of Planner. Bearer tokens from the OAuth2 password flow; cookies are never read. Errors are `{\"detail\": \"...\"}`; validation errors are 422 `{\"detail\": [{\"loc\", \"msg\", \"type\"}]}`.",
		},
		"servers": []any{map[string]any{"url": base}},
		"paths":   paths,
		"components": map[string]any{
			"schemas": schemas(),
			"securitySchemes": map[string]any{
				"OAuth2PasswordBearer": map[string]any{
					"type": "oauth2",
					"flows": map[string]any{"password": map[string]any{
						"tokenUrl": "/api/user/signin", "scopes": map[string]any{},
					}},
				},
			},
		},
	}
}

// OpenAPI serves the document.
func (d *Docs) OpenAPI(c echo.Context) error {
	b, err := json.MarshalIndent(openAPIDocument(d.cfg.BaseURL.String()), "", "  ")
	if err != nil {
		return err
	}
	c.Response().Header().Set(echo.HeaderCacheControl, "public, max-age=300")
	return c.Blob(http.StatusOK, echo.MIMEApplicationJSON, b)
}

// Page serves the interactive reference (Swagger UI, embedded, started by
// our own script under the strict CSP) with a plain reference from the
// same operations under it for readers without JavaScript.
func (d *Docs) Page(c echo.Context) error {
	var ops []views.DocOperation
	for _, op := range apiOps() {
		v := views.DocOperation{Method: op.method, Path: op.path, Summary: op.summary, Description: op.description}
		switch op.auth {
		case "required":
			v.Auth = "Bearer token required"
		case "optional":
			v.Auth = "Bearer token optional"
		default:
			v.Auth = "No authentication"
		}
		for _, p := range op.params {
			v.Params = append(v.Params, views.DocParam{Name: p.name, In: p.in, Description: p.description, Required: p.required})
		}
		if op.body != nil {
			v.Body = op.body.contentType + ": " + op.body.schema
		}
		for _, r := range op.responses {
			desc := r.description
			if r.schema != "" {
				desc += " (" + r.schema + ")"
			}
			v.Responses = append(v.Responses, views.DocResponse{Code: r.code, Description: desc})
		}
		sort.SliceStable(v.Responses, func(i, j int) bool { return v.Responses[i].Code < v.Responses[j].Code })
		ops = append(ops, v)
	}
	p := page(c, "API reference")
	p.Styles = []string{"swagger-ui/swagger-ui.css"}
	p.Scripts = []string{"swagger-ui/swagger-ui-bundle.js", "api-docs.js"}
	return render(c, http.StatusOK, views.APIDocs(p, ops))
}
