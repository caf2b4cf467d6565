package handlers

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"strconv"
	"strings"
)

// Secrets derived from the signing keys: an event's share-link key and a
// user's calendar feed token. Each is an HMAC of what it opens (the event
// or user id) and a generation number kept in the database, cut to 128
// bits: nothing secret is stored, rotating moves the generation on (the
// old secret never works again), and they are compared in constant time.
// Like tokens, the first key makes them and every key verifies them, so a
// key rotation keeps links working until the old key is removed.
type derivedSecrets struct{ keys [][]byte }

func (d derivedSecrets) mac(key []byte, purpose string, id uint, gen int) []byte {
	m := hmac.New(sha256.New, key)
	m.Write([]byte("planner/" + purpose + "\x00" + strconv.FormatUint(uint64(id), 10) + "\x00" + strconv.Itoa(gen)))
	return m.Sum(nil)[:16]
}

func (d derivedSecrets) make(purpose string, id uint, gen int) string {
	return base64.RawURLEncoding.EncodeToString(d.mac(d.keys[0], purpose, id, gen))
}

func (d derivedSecrets) check(purpose string, id uint, gen int, got string) bool {
	raw, err := base64.RawURLEncoding.DecodeString(got)
	if err != nil || len(raw) != 16 {
		return false
	}
	ok := false
	for _, k := range d.keys {
		if hmac.Equal(raw, d.mac(k, purpose, id, gen)) {
			ok = true
		}
	}
	return ok
}

// ShareKey is the key of event id's share link at generation gen (> 0).
func (d derivedSecrets) ShareKey(id uint, gen int) string { return d.make("share", id, gen) }

// ShareKeyOK reports whether key opens event id whose share link is at
// generation gen; a link that is off (gen ≤ 0) opens nothing.
func (d derivedSecrets) ShareKeyOK(id uint, gen int, key string) bool {
	return gen > 0 && key != "" && d.check("share", id, gen, key)
}

// FeedToken is user id's calendar feed token at generation gen: the id in
// the clear (to find the user) and the MAC.
func (d derivedSecrets) FeedToken(id uint, gen int) string {
	return strconv.FormatUint(uint64(id), 10) + "-" + d.make("feed", id, gen)
}

// ParseFeedToken splits a feed token into the user id and the MAC; the
// caller checks the MAC with FeedTokenOK once it knows the generation.
func (d derivedSecrets) ParseFeedToken(token string) (uint, string, bool) {
	idText, mac, ok := strings.Cut(token, "-")
	id, err := strconv.ParseUint(idText, 10, 32)
	if !ok || err != nil || id == 0 {
		return 0, "", false
	}
	return uint(id), mac, true
}

// FeedTokenOK reports whether mac is user id's feed MAC at generation gen.
func (d derivedSecrets) FeedTokenOK(id uint, gen int, mac string) bool {
	return d.check("feed", id, gen, mac)
}
