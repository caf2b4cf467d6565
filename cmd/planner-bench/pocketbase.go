package main

import (
	"context"
	"debug/buildinfo"
	"encoding/json"
	"fmt"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"time"
)

// pocketbase is a PocketBase server set up like Planner: an events
// collection with Planner's event fields, anyone may list and read it,
// a signed-in user may create an event as its creator, 50 events seeded.
type pocketbase struct {
	srv     *server
	version string
	token   string // the bench user's auth token
	userID  string
	oneID   string // the event "get one" reads
}

// PocketBase's superuser, for setting the collection up.
const (
	pbAdminEmail    = "admin@example.com"
	pbAdminPassword = "bench-superuser-pass-1"
)

// pbFields are the events collection's fields: Planner's event (its
// creator a relation to the users collection) with PocketBase's own
// created/updated stamps.
var pbFields = []map[string]any{
	{"name": "creator", "type": "relation", "collectionId": "_pb_users_auth_", "maxSelect": 1, "required": true},
	{"name": "title", "type": "text", "required": true, "max": 200},
	{"name": "image", "type": "url"},
	{"name": "description", "type": "text", "max": 5000},
	{"name": "tags", "type": "json"},
	{"name": "location", "type": "text", "max": 200},
	{"name": "starts_at", "type": "date"},
	{"name": "ends_at", "type": "date"},
	{"name": "visibility", "type": "select", "values": []string{"public", "private"}, "maxSelect": 1},
	{"name": "created", "type": "autodate", "onCreate": true},
	{"name": "updated", "type": "autodate", "onCreate": true, "onUpdate": true},
}

// pbVersion reads the PocketBase version the binary was built from.
func pbVersion(bin string) string {
	bi, err := buildinfo.ReadFile(bin)
	if err != nil {
		return "(version unknown)"
	}
	const mod = "github.com/pocketbase/pocketbase"
	if bi.Main.Path == mod && bi.Main.Version != "" && bi.Main.Version != "(devel)" {
		return bi.Main.Version
	}
	for _, d := range bi.Deps {
		if d.Path == mod {
			return d.Version
		}
	}
	return "(version unknown)"
}

// startPocketBase runs PocketBase on a fresh data directory and a free
// loopback port, and sets it up through its REST API.
func (b *bench) startPocketBase() (*pocketbase, error) {
	dir := filepath.Join(b.dir, "pocketbase")
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	if out, err := exec.CommandContext(ctx, b.pbBin, "superuser", "upsert", pbAdminEmail, pbAdminPassword, "--dir", dir).CombinedOutput(); err != nil {
		return nil, fmt.Errorf("pocketbase superuser upsert: %v: %s", err, out)
	}
	addr, err := freeAddr()
	if err != nil {
		return nil, err
	}
	srv, err := startPolled("pocketbase", b.pbBin, []string{"serve", "--http=" + addr, "--dir=" + dir},
		os.Environ(), addr, "/api/health", b.logs)
	if err != nil {
		return nil, err
	}
	pb := &pocketbase{srv: srv, version: pbVersion(b.pbBin)}
	if err := pb.setup(); err != nil {
		_ = srv.stop()
		return nil, fmt.Errorf("set PocketBase up: %w", err)
	}
	return pb, nil
}

// setup creates the collection, the bench user and its 50 events.
func (pb *pocketbase) setup() error {
	cl := newAPI(pb.srv.url)
	post := func(path, token string, in, out any) error {
		body, _ := json.Marshal(in)
		var h http.Header
		if token != "" {
			h = http.Header{"Authorization": {"Bearer " + token}}
		}
		st, b, _, err := cl.do("POST", path, "application/json", string(body), h)
		if err != nil || st != http.StatusOK {
			return fmt.Errorf("POST %s: %d %.300s %v", path, st, b, err)
		}
		if out != nil {
			return json.Unmarshal(b, out)
		}
		return nil
	}
	var auth struct {
		Token  string `json:"token"`
		Record struct {
			ID string `json:"id"`
		} `json:"record"`
	}
	if err := post("/api/collections/_superusers/auth-with-password", "",
		map[string]string{"identity": pbAdminEmail, "password": pbAdminPassword}, &auth); err != nil {
		return err
	}
	admin := auth.Token
	if err := post("/api/collections", admin, map[string]any{
		"name": "events", "type": "base", "fields": pbFields,
		"listRule": "", "viewRule": "", // anyone, as Planner's public events
		"createRule": `@request.auth.id != "" && @request.body.creator = @request.auth.id`,
	}, nil); err != nil {
		return err
	}
	if err := post("/api/collections/users/records", admin, map[string]string{
		"email": benchEmail, "password": benchPassword, "passwordConfirm": benchPassword, "name": "Bench",
	}, nil); err != nil {
		return err
	}
	if err := post("/api/collections/users/auth-with-password", "",
		map[string]string{"identity": benchEmail, "password": benchPassword}, &auth); err != nil {
		return err
	}
	pb.token, pb.userID = auth.Token, auth.Record.ID
	for i := range 50 {
		var rec struct {
			ID string `json:"id"`
		}
		if err := post("/api/collections/events/records", pb.token, pb.event(i), &rec); err != nil {
			return err
		}
		if i == 24 {
			pb.oneID = rec.ID
		}
	}
	st, body, _, err := cl.do("GET", pb.listPath(), "", "", nil)
	if err != nil || st != http.StatusOK || !strings.Contains(string(body), `"totalItems":50`) {
		return fmt.Errorf("list: %d %.300s %v", st, body, err)
	}
	return nil
}

// event is Planner's bench event with the bench user as its creator.
func (pb *pocketbase) event(i int) map[string]any {
	m := eventFields(i)
	m["creator"] = pb.userID
	return m
}

func (pb *pocketbase) listPath() string { return "/api/collections/events/records?perPage=50" }
func (pb *pocketbase) onePath() string  { return "/api/collections/events/records/" + pb.oneID }
func (pb *pocketbase) createPath() string {
	return "/api/collections/events/records"
}

// createBody is the event every PocketBase create sends.
func (pb *pocketbase) createBody() string {
	b, _ := json.Marshal(pb.event(7))
	return string(b)
}
