package handlers

import (
	"bytes"
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"strings"
	"time"

	"github.com/go-webauthn/webauthn/protocol"
	"github.com/go-webauthn/webauthn/webauthn"
	"github.com/labstack/echo/v4"
	"github.com/planner/planner/models"
	"github.com/planner/planner/models/account"
	"github.com/planner/planner/views"
)

// ceremonyCookie holds the signed state of one WebAuthn ceremony (its
// challenge), between the options and the answer.
const (
	ceremonyCookie = "planner_webauthn"
	ceremonyTTL    = 5 * time.Minute
)

// passkeyAccounts is what the passkey pages ask of the accounts service.
type passkeyAccounts interface {
	AddPasskey(ctx context.Context, u *models.User, p *models.Passkey, ip string) error
	RemovePasskey(ctx context.Context, u *models.User, id uint, ip string) error
	Passkeys(ctx context.Context, u *models.User) ([]models.Passkey, error)
	PasskeyByCredential(ctx context.Context, credID string) (*models.Passkey, *models.User, error)
	PasskeySignIn(ctx context.Context, u *models.User, p *models.Passkey, credential, ip string) error
}

// Passkeys serves /account/passkeys and the passkey sign-in. The relying
// party is the site of PLANNER_BASE_URL: its host is the RP ID, its origin
// the only origin accepted.
type Passkeys struct {
	wa       *webauthn.WebAuthn
	accounts passkeyAccounts
	sessions *Sessions
	key      []byte // signs the ceremony cookie and makes user handles
	secure   bool
	timezone *time.Location
	clock    models.Clock
}

// NewPasskeys returns the passkey pages of cfg.
//
// WebAuthn needs the RP ID to be a domain: with a base URL on an IP address
// (a development set-up) passkeys are off, their routes answer 404 and the
// pages do not offer them.
func NewPasskeys(cfg Config, accounts passkeyAccounts, sessions *Sessions) (*Passkeys, error) {
	m := hmac.New(sha256.New, cfg.SecretKeys[0])
	m.Write([]byte("planner webauthn v1"))
	h := &Passkeys{accounts: accounts, sessions: sessions, key: m.Sum(nil), secure: cfg.Secure(),
		timezone: cfg.Timezone, clock: cfg.Clock}
	if net.ParseIP(cfg.BaseURL.Hostname()) != nil {
		return h, nil
	}
	wa, err := webauthn.New(&webauthn.Config{
		RPID:          cfg.BaseURL.Hostname(),
		RPDisplayName: "Planner",
		RPOrigins:     []string{cfg.BaseURL.Scheme + "://" + cfg.BaseURL.Host},
	})
	if err != nil {
		return nil, fmt.Errorf("webauthn: %w", err)
	}
	h.wa = wa
	return h, nil
}

// Enabled reports whether passkeys are on (see NewPasskeys).
func (h *Passkeys) Enabled() bool { return h.wa != nil }

// enabled is the middleware of the passkey routes: 404 while passkeys are
// off.
func (h *Passkeys) enabled(next echo.HandlerFunc) echo.HandlerFunc {
	return func(c echo.Context) error {
		if !h.Enabled() {
			return models.ErrNotFound
		}
		return next(c)
	}
}

// waUser is a user as WebAuthn sees them. The user handle is a keyed
// digest of the id: stable, opaque, and not the id itself.
type waUser struct {
	u      *models.User
	handle []byte
	creds  []webauthn.Credential
}

func (w *waUser) WebAuthnID() []byte                         { return w.handle }
func (w *waUser) WebAuthnName() string                       { return w.u.Email }
func (w *waUser) WebAuthnDisplayName() string                { return w.u.Name }
func (w *waUser) WebAuthnCredentials() []webauthn.Credential { return w.creds }

func (h *Passkeys) handle(id uint) []byte {
	m := hmac.New(sha256.New, h.key)
	m.Write([]byte("user handle"))
	_ = binary.Write(m, binary.BigEndian, uint64(id))
	return m.Sum(nil)
}

func (h *Passkeys) user(ctx context.Context, u *models.User) (*waUser, []models.Passkey, error) {
	list, err := h.accounts.Passkeys(ctx, u)
	if err != nil {
		return nil, nil, err
	}
	w := &waUser{u: u, handle: h.handle(u.ID)}
	for _, p := range list {
		var c webauthn.Credential
		if err := json.Unmarshal([]byte(p.Credential), &c); err != nil {
			return nil, nil, fmt.Errorf("passkey %d: %w", p.ID, err)
		}
		w.creds = append(w.creds, c)
	}
	return w, list, nil
}

// ceremony signs the state of a ceremony for purpose (one user's
// registration, or a sign-in) into a cookie.
func (h *Passkeys) setCeremony(c echo.Context, purpose string, s *webauthn.SessionData) error {
	if limit := h.clock.Now().Add(ceremonyTTL); s.Expires.IsZero() || s.Expires.After(limit) {
		s.Expires = limit
	}
	raw, err := json.Marshal(s)
	if err != nil {
		return err
	}
	body := base64.RawURLEncoding.EncodeToString(raw)
	c.SetCookie(&http.Cookie{Name: ceremonyCookie, Value: body + "." + h.mac(purpose, body), Path: "/",
		MaxAge: int(ceremonyTTL.Seconds()), HttpOnly: true, Secure: h.secure, SameSite: http.SameSiteStrictMode})
	return nil
}

func (h *Passkeys) mac(purpose, body string) string {
	m := hmac.New(sha256.New, h.key)
	m.Write([]byte("ceremony " + purpose + "\x00" + body))
	return base64.RawURLEncoding.EncodeToString(m.Sum(nil))
}

// ceremony reads and drops the ceremony cookie of purpose; a missing,
// forged, other-purpose or expired one is an error.
func (h *Passkeys) ceremony(c echo.Context, purpose string) (webauthn.SessionData, error) {
	var s webauthn.SessionData
	ck, err := c.Cookie(ceremonyCookie)
	c.SetCookie(&http.Cookie{Name: ceremonyCookie, Value: "", Path: "/", MaxAge: -1, HttpOnly: true, Secure: h.secure,
		SameSite: http.SameSiteStrictMode})
	if err != nil {
		return s, errors.New("no ceremony")
	}
	body, sig, ok := strings.Cut(ck.Value, ".")
	if !ok || !hmac.Equal([]byte(sig), []byte(h.mac(purpose, body))) {
		return s, errors.New("ceremony cookie forged or of another purpose")
	}
	raw, err := base64.RawURLEncoding.DecodeString(body)
	if err != nil {
		return s, err
	}
	if err := json.Unmarshal(raw, &s); err != nil {
		return s, err
	}
	if h.clock.Now().After(s.Expires) {
		return s, errors.New("ceremony expired")
	}
	return s, nil
}

// errPasskey is every refused passkey answer: the page only learns that
// it did not work.
var errPasskey = echo.NewHTTPError(http.StatusBadRequest, "The passkey could not be used")

// Index lists the caller's passkeys.
func (h *Passkeys) Index(c echo.Context) error {
	return h.index(c, http.StatusOK, &passkeyForm{})
}

// passkeyForm is the name of a new passkey (the rest comes from the
// browser's WebAuthn answer).
type passkeyForm struct {
	Name string `form:"name"`
	formState
}

func (h *Passkeys) index(c echo.Context, status int, f *passkeyForm) error {
	list, err := h.accounts.Passkeys(c.Request().Context(), principalOf(c).User)
	if err != nil {
		return err
	}
	rows := make([]views.PasskeyRow, len(list))
	for i, p := range list {
		rows[i] = views.PasskeyRow{ID: idString(p.ID), Name: p.Name, Created: p.CreatedAt.In(h.timezone).Format("2 January 2006"), LastUsed: "never"}
		if p.LastUsedAt != nil {
			rows[i].LastUsed = p.LastUsedAt.In(h.timezone).Format("2 January 2006, 15:04 MST")
		}
	}
	return render(c, status, views.PasskeysPage(page(c, "Passkeys"), rows, viewForm(f)))
}

// RegisterOptions starts a registration: discoverable credential, user
// verification required, the caller's passkeys excluded.
func (h *Passkeys) RegisterOptions(c echo.Context) error {
	u := principalOf(c).User
	w, _, err := h.user(c.Request().Context(), u)
	if err != nil {
		return err
	}
	creation, s, err := h.wa.BeginRegistration(w,
		webauthn.WithAuthenticatorSelection(protocol.AuthenticatorSelection{
			ResidentKey: protocol.ResidentKeyRequirementRequired, RequireResidentKey: protocol.ResidentKeyRequired(),
			UserVerification: protocol.VerificationRequired}),
		webauthn.WithExclusions(webauthn.Credentials(w.creds).CredentialDescriptors()))
	if err != nil {
		return err
	}
	if err := h.setCeremony(c, "register:"+idString(u.ID), s); err != nil {
		return err
	}
	return c.JSON(http.StatusOK, creation)
}

// passkeyAnswer is what the script posts: the browser's WebAuthn answer,
// and the passkey's name or the page to go to after a sign-in.
type passkeyAnswer struct {
	Name       string          `json:"name"`
	Next       string          `json:"next"`
	Credential json.RawMessage `json:"credential"`
}

func readAnswer(c echo.Context) (passkeyAnswer, error) {
	var a passkeyAnswer
	body, err := io.ReadAll(io.LimitReader(c.Request().Body, 64<<10))
	if err != nil {
		return a, err
	}
	if err := json.Unmarshal(body, &a); err != nil || len(a.Credential) == 0 {
		return a, errPasskey
	}
	return a, nil
}

// Register checks the browser's answer to RegisterOptions and stores the
// passkey.
func (h *Passkeys) Register(c echo.Context) error {
	u := principalOf(c).User
	s, err := h.ceremony(c, "register:"+idString(u.ID))
	if err != nil {
		return errPasskey.WithInternal(err)
	}
	a, err := readAnswer(c)
	if err != nil {
		return errPasskey.WithInternal(err)
	}
	parsed, err := protocol.ParseCredentialCreationResponseBody(bytes.NewReader(a.Credential))
	if err != nil {
		return errPasskey.WithInternal(err)
	}
	w, _, err := h.user(c.Request().Context(), u)
	if err != nil {
		return err
	}
	cred, err := h.wa.CreateCredential(w, s, parsed)
	if err != nil {
		return errPasskey.WithInternal(err)
	}
	raw, err := json.Marshal(cred)
	if err != nil {
		return err
	}
	p := &models.Passkey{Name: a.Name, CredentialID: base64.RawURLEncoding.EncodeToString(cred.ID), Credential: string(raw)}
	err = h.accounts.AddPasskey(c.Request().Context(), u, p, c.RealIP())
	var fe account.FieldErrors
	switch {
	case errors.As(err, &fe):
		return echo.NewHTTPError(http.StatusUnprocessableEntity, fe["name"])
	case errors.Is(err, models.ErrDuplicate):
		return errPasskey.WithInternal(err)
	case err != nil:
		return err
	}
	return c.JSON(http.StatusOK, map[string]string{"redirect": "/account/passkeys"})
}

// Delete removes one of the caller's passkeys (another user's is 404).
func (h *Passkeys) Delete(c echo.Context) error {
	id := parseID(c.Param("id"))
	if id == 0 {
		return models.ErrNotFound
	}
	if err := h.accounts.RemovePasskey(c.Request().Context(), principalOf(c).User, id, c.RealIP()); err != nil {
		return err
	}
	setFlash(c, h.secure, "passkey_removed")
	return c.Redirect(http.StatusSeeOther, "/account/passkeys")
}

// LoginOptions starts a passkey sign-in: no user named (the passkey says
// who), user verification required.
func (h *Passkeys) LoginOptions(c echo.Context) error {
	assertion, s, err := h.wa.BeginDiscoverableLogin(webauthn.WithUserVerification(protocol.VerificationRequired))
	if err != nil {
		return err
	}
	if err := h.setCeremony(c, "login", s); err != nil {
		return err
	}
	return c.JSON(http.StatusOK, assertion)
}

// Login checks the browser's answer to LoginOptions and signs its user in:
// the passkey, with user verification, is both factors at once. The user
// handle the authenticator returns must be the one of the passkey's owner.
// A caller signed in already confirms it is them (/login/confirm) instead,
// with a passkey of their own.
func (h *Passkeys) Login(c echo.Context) error {
	s, err := h.ceremony(c, "login")
	if err != nil {
		return errPasskey.WithInternal(err)
	}
	a, err := readAnswer(c)
	if err != nil {
		return errPasskey.WithInternal(err)
	}
	parsed, err := protocol.ParseCredentialRequestResponseBody(bytes.NewReader(a.Credential))
	if err != nil {
		return errPasskey.WithInternal(err)
	}
	ctx := c.Request().Context()
	var (
		owner *models.User
		pk    *models.Passkey
	)
	lookup := func(rawID, userHandle []byte) (webauthn.User, error) {
		p, u, err := h.accounts.PasskeyByCredential(ctx, base64.RawURLEncoding.EncodeToString(rawID))
		if err != nil {
			return nil, err
		}
		if u.Disabled || !hmac.Equal(userHandle, h.handle(u.ID)) {
			return nil, errors.New("the user handle is not the passkey owner's")
		}
		var cred webauthn.Credential
		if err := json.Unmarshal([]byte(p.Credential), &cred); err != nil {
			return nil, err
		}
		owner, pk = u, p
		return &waUser{u: u, handle: h.handle(u.ID), creds: []webauthn.Credential{cred}}, nil
	}
	_, cred, err := h.wa.ValidatePasskeyLogin(lookup, s, parsed)
	if err != nil {
		return errPasskey.WithInternal(err)
	}
	if !cred.Flags.UserVerified || cred.Authenticator.CloneWarning {
		return errPasskey.WithInternal(errors.New("no user verification, or a cloned authenticator"))
	}
	raw, err := json.Marshal(cred)
	if err != nil {
		return err
	}
	// Signed in already: this is the step-up of /login/confirm, which
	// only the same user's passkey may give.
	p := principalOf(c)
	if p != nil && p.User.ID != owner.ID {
		return errPasskey.WithInternal(errors.New("a passkey of another user"))
	}
	if err := h.accounts.PasskeySignIn(ctx, owner, pk, string(raw), c.RealIP()); err != nil {
		return err
	}
	if p != nil {
		if err := h.sessions.Confirmed(c, p); err != nil {
			return err
		}
		setFlash(c, h.secure, "confirmed")
		return c.JSON(http.StatusOK, map[string]string{"redirect": nextOr(a.Next, "/account")})
	}
	if err := h.sessions.Start(c, owner); err != nil {
		return err
	}
	rotateCSRF(c, h.secure)
	return c.JSON(http.StatusOK, map[string]string{"redirect": nextOr(a.Next, "/events")})
}
