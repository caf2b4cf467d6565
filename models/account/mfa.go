package account

import (
	"context"
	"crypto/aes"
	"crypto/cipher"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base32"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"fmt"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/planner/planner/models"
	"github.com/pquerna/otp"
	"github.com/pquerna/otp/totp"
)

// TOTP parameters (RFC 6238): what every authenticator app defaults to.
const (
	TOTPPeriod = 30 * time.Second
	totpDigits = otp.DigitsSix
	totpSkew   = 1 // steps either side of now
	// RecoveryCodeCount is how many recovery codes an enrolment gives.
	RecoveryCodeCount = 10
	// Issuer names the site in authenticator apps.
	Issuer = "Planner"
)

// ErrMFARequired is the answer to a right password of a user with a second
// factor: the sign-in continues with SecondFactor.
var ErrMFARequired = errors.New("a second factor is required")

// ErrBadCode is a wrong, replayed or used-up TOTP or recovery code.
var ErrBadCode = errors.New("incorrect code")

// MFAKeys derives the keys that seal TOTP secrets from the signing keys, so
// the signing key itself is used for nothing else and a database dump
// without the configuration cannot mint codes. Every key opens; the first
// seals, so rotating PLANNER_SECRET_KEYS keeps enrolments working while the
// old key stays listed.
func MFAKeys(secrets [][]byte) [][]byte {
	out := make([][]byte, 0, len(secrets))
	for _, k := range secrets {
		m := hmac.New(sha256.New, k)
		m.Write([]byte("planner totp secret v1"))
		out = append(out, m.Sum(nil))
	}
	return out
}

// keyTag names a sealing key in the sealed text (a digest, not the key).
func keyTag(k []byte) string {
	sum := sha256.Sum256(k)
	return hex.EncodeToString(sum[:4])
}

// seal encrypts secret for user id with AES-256-GCM; the user id is the
// additional data, so a sealed secret copied onto another row does not open.
func (s *Service) seal(id uint, secret string) (string, error) {
	if len(s.mfaKeys) == 0 {
		return "", errors.New("seal totp secret: no key")
	}
	aead, err := gcm(s.mfaKeys[0])
	if err != nil {
		return "", err
	}
	nonce := make([]byte, aead.NonceSize())
	if _, err := rand.Read(nonce); err != nil {
		return "", err
	}
	ct := aead.Seal(nonce, nonce, []byte(secret), []byte(strconv.FormatUint(uint64(id), 10)))
	return "v1." + keyTag(s.mfaKeys[0]) + "." + base64.RawURLEncoding.EncodeToString(ct), nil
}

// open decrypts a sealed secret of user id.
func (s *Service) open(id uint, sealed string) (string, error) {
	parts := strings.Split(sealed, ".")
	if len(parts) != 3 || parts[0] != "v1" {
		return "", errors.New("open totp secret: not a sealed secret")
	}
	raw, err := base64.RawURLEncoding.DecodeString(parts[2])
	if err != nil {
		return "", fmt.Errorf("open totp secret: %w", err)
	}
	for _, k := range s.mfaKeys {
		if keyTag(k) != parts[1] {
			continue
		}
		aead, err := gcm(k)
		if err != nil {
			return "", err
		}
		if len(raw) < aead.NonceSize() {
			break
		}
		pt, err := aead.Open(nil, raw[:aead.NonceSize()], raw[aead.NonceSize():], []byte(strconv.FormatUint(uint64(id), 10)))
		if err != nil {
			return "", fmt.Errorf("open totp secret: %w", err)
		}
		return string(pt), nil
	}
	return "", errors.New("open totp secret: sealed with a key no longer configured")
}

func gcm(key []byte) (cipher.AEAD, error) {
	block, err := aes.NewCipher(key)
	if err != nil {
		return nil, err
	}
	return cipher.NewGCM(block)
}

// Enrolment is a pending TOTP secret as the set-up page shows it.
type Enrolment struct {
	Secret string // base32, for typing into an app
	URL    string // otpauth:// URL, what the QR code holds
}

func enrolment(email, secret string) Enrolment {
	v := url.Values{}
	v.Set("secret", secret)
	v.Set("issuer", Issuer)
	v.Set("algorithm", "SHA1")
	v.Set("digits", "6")
	v.Set("period", "30")
	u := url.URL{Scheme: "otpauth", Host: "totp", Path: "/" + Issuer + ":" + email, RawQuery: v.Encode()}
	return Enrolment{Secret: secret, URL: u.String()}
}

// BeginTOTP makes a new pending secret for u (replacing a pending one),
// which ConfirmTOTP turns on. It is models.ErrConflict when u has a
// confirmed factor already.
func (s *Service) BeginTOTP(ctx context.Context, u *models.User) (Enrolment, error) {
	if u.HasMFA() {
		return Enrolment{}, models.ErrConflict
	}
	key, err := totp.Generate(totp.GenerateOpts{Issuer: Issuer, AccountName: u.Email, Period: 30, Digits: totpDigits})
	if err != nil {
		return Enrolment{}, fmt.Errorf("generate totp secret: %w", err)
	}
	sealed, err := s.seal(u.ID, key.Secret())
	if err != nil {
		return Enrolment{}, err
	}
	if err := s.users.SetTOTPPending(ctx, u.ID, sealed); err != nil {
		return Enrolment{}, err
	}
	u.TOTPSecret = sealed
	return enrolment(u.Email, key.Secret()), nil
}

// PendingTOTP is u's pending enrolment, or models.ErrNotFound.
func (s *Service) PendingTOTP(u *models.User) (Enrolment, error) {
	if u.HasMFA() || u.TOTPSecret == "" {
		return Enrolment{}, models.ErrNotFound
	}
	secret, err := s.open(u.ID, u.TOTPSecret)
	if err != nil {
		return Enrolment{}, err
	}
	return enrolment(u.Email, secret), nil
}

// ConfirmTOTP turns u's pending secret on when code is right (FieldErrors
// otherwise), and returns the recovery codes, shown once: only their
// digests are kept.
func (s *Service) ConfirmTOTP(ctx context.Context, u *models.User, code, ip string) ([]string, error) {
	if u.HasMFA() || u.TOTPSecret == "" {
		return nil, models.ErrConflict
	}
	secret, err := s.open(u.ID, u.TOTPSecret)
	if err != nil {
		return nil, err
	}
	step, ok := matchTOTP(secret, code, s.clock.Now())
	if !ok {
		return nil, FieldErrors{"code": "That code is not right. Check your app's clock and try the current code."}
	}
	codes, hashes := newRecoveryCodes()
	err = models.InTx(ctx, s.db, func(tx models.Tx) error {
		if err := tx.Users.EnableTOTP(ctx, u.ID, u.TOTPSecret, step, s.clock.Now()); err != nil {
			return err
		}
		if err := tx.Recovery.Replace(ctx, u.ID, hashes, s.clock.Now()); err != nil {
			return err
		}
		return s.record(ctx, tx, By(u, ip), models.ActionMFAEnabled, u.Email)
	})
	if err != nil {
		return nil, err
	}
	return codes, nil
}

// DisableTOTP turns u's second factor off after a fresh code (TOTP or
// recovery, counted toward the throttle like a sign-in) or u's password.
func (s *Service) DisableTOTP(ctx context.Context, u *models.User, code, password, ip string) error {
	if !u.HasMFA() {
		return models.ErrConflict
	}
	off := func(tx models.Tx) error {
		if err := tx.Users.ClearTOTP(ctx, u.ID, false); err != nil {
			return err
		}
		return s.record(ctx, tx, By(u, ip), models.ActionMFADisabled, u.Email)
	}
	if strings.TrimSpace(code) != "" {
		_, err := s.factor(ctx, u, code, ip, off)
		if errors.Is(err, ErrBadCode) {
			return FieldErrors{"code": "That code is not right"}
		}
		return err
	}
	if password == "" {
		return FieldErrors{"code": "Enter a code from your app, or your password"}
	}
	if _, err := s.check(ctx, u.Email, password, ip, false, nil); err != nil {
		if errors.Is(err, ErrBadCredentials) {
			return FieldErrors{"password": "Password is incorrect"}
		}
		return err
	}
	return models.InTx(ctx, s.db, off)
}

// RecoveryCodesLeft counts u's unused recovery codes.
func (s *Service) RecoveryCodesLeft(ctx context.Context, u *models.User) (int64, error) {
	return models.NewRecoveryCodes(s.db).Remaining(ctx, u.ID)
}

// ResetMFA is the admin's reset of u's second factor: the secret and the
// recovery codes go, and so do u's sessions.
func (s *Service) ResetMFA(ctx context.Context, u *models.User, by Actor) error {
	return s.change(ctx, by, models.ActionMFADisabled, u, func(tx models.Tx) error {
		return tx.Users.ClearTOTP(ctx, u.ID, true)
	})
}

// SecondFactor completes the sign-in of user id, whose password step was
// passed with token version ver, with a TOTP or recovery code. Every
// attempt counts toward the sign-in throttle; a wrong one is ErrBadCode
// (and audited as mfa_failed), a state that no longer fits the account
// (disabled, new version, factor gone) ErrBadCredentials.
func (s *Service) SecondFactor(ctx context.Context, id uint, ver int, code, ip string) (*models.User, error) {
	u, err := s.users.ByID(ctx, id)
	if errors.Is(err, models.ErrNotFound) {
		return nil, ErrBadCredentials
	}
	if err != nil {
		return nil, err
	}
	if u.Disabled || u.TokenVersion != ver || !u.HasMFA() {
		return nil, ErrBadCredentials
	}
	return s.factor(ctx, u, code, ip, func(tx models.Tx) error {
		if err := tx.Users.RecordSignIn(ctx, u.ID, s.clock.Now()); err != nil {
			return err
		}
		return s.record(ctx, tx, By(u, ip), models.ActionSignin, u.Email)
	})
}

// Reauthenticate is the step-up check of a signed-in u: the password, and
// a code when u has a second factor, each counted toward the throttle.
func (s *Service) Reauthenticate(ctx context.Context, u *models.User, password, code, ip string) error {
	_, err := s.check(ctx, u.Email, password, ip, true, nil)
	if !errors.Is(err, ErrMFARequired) {
		return err
	}
	_, err = s.factor(ctx, u, code, ip, func(models.Tx) error { return nil })
	return err
}

// factor checks code for u, the throttle counted first, and on success
// runs done in the transaction that uses the code up and resets the
// throttle.
func (s *Service) factor(ctx context.Context, u *models.User, code, ip string, done func(tx models.Tx) error) (*models.User, error) {
	client := ClientKey(ip)
	res, err := s.throttles.Reserve(ctx, u.Email, client, s.limit, LockDuration, s.clock.Now())
	if err != nil {
		return nil, err
	}
	if !res.Allowed {
		if err := s.refused(ctx, u, models.ActionSigninThrottled, ip); err != nil {
			return nil, err
		}
		return nil, &ThrottledError{Wait: res.RetryAfter}
	}
	secret, err := s.open(u.ID, u.TOTPSecret)
	if err != nil {
		return nil, err
	}
	now := s.clock.Now()
	step, isTOTP := matchTOTP(secret, code, now)
	recovery := ""
	if !isTOTP {
		recovery = recoveryDigest(code)
	}
	err = models.InTx(ctx, s.db, func(tx models.Tx) error {
		if isTOTP {
			if ok, err := tx.Users.UseTOTPStep(ctx, u.ID, step); err != nil || !ok {
				return errors.Join(err, errIfNot(ok))
			}
		} else {
			if recovery == "" {
				return ErrBadCode
			}
			if ok, err := tx.Recovery.Use(ctx, u.ID, recovery, now); err != nil || !ok {
				return errors.Join(err, errIfNot(ok))
			}
			if err := s.record(ctx, tx, By(u, ip), models.ActionRecoveryCodeUsed, u.Email); err != nil {
				return err
			}
		}
		if err := tx.Throttles(s.key).Reset(ctx, u.Email, client); err != nil {
			return err
		}
		return done(tx)
	})
	if errors.Is(err, ErrBadCode) {
		if err := s.refused(ctx, u, models.ActionMFAFailed, ip); err != nil {
			return nil, err
		}
		return nil, ErrBadCode
	}
	if err != nil {
		return nil, err
	}
	return u, nil
}

func errIfNot(ok bool) error {
	if ok {
		return nil
	}
	return ErrBadCode
}

// matchTOTP finds the step, within totpSkew of now, whose code is code.
func matchTOTP(secret, code string, now time.Time) (int64, bool) {
	code = strings.ReplaceAll(strings.TrimSpace(code), " ", "")
	if len(code) != totpDigits.Length() {
		return 0, false
	}
	step := now.Unix() / int64(TOTPPeriod/time.Second)
	for d := int64(-totpSkew); d <= totpSkew; d++ {
		t := time.Unix((step+d)*int64(TOTPPeriod/time.Second), 0)
		want, err := totp.GenerateCodeCustom(secret, t, totp.ValidateOpts{Period: 30, Digits: totpDigits, Algorithm: otp.AlgorithmSHA1})
		if err == nil && subtle.ConstantTimeCompare([]byte(want), []byte(code)) == 1 {
			return step + d, true
		}
	}
	return 0, false
}

// recoveryAlphabet is base32 without padding, lower-cased when shown.
var recoveryEncoding = base32.StdEncoding.WithPadding(base32.NoPadding)

// newRecoveryCodes returns RecoveryCodeCount codes of 80 random bits, as
// shown (xxxx-xxxx-xxxx-xxxx) and as stored (digests).
func newRecoveryCodes() (codes, hashes []string) {
	for range RecoveryCodeCount {
		var b [10]byte
		if _, err := rand.Read(b[:]); err != nil {
			panic(fmt.Sprintf("crypto/rand failed: %v", err))
		}
		raw := strings.ToLower(recoveryEncoding.EncodeToString(b[:]))
		codes = append(codes, raw[0:4]+"-"+raw[4:8]+"-"+raw[8:12]+"-"+raw[12:16])
		hashes = append(hashes, recoveryDigest(raw))
	}
	return codes, hashes
}

// recoveryDigest is the stored form of a typed recovery code: dashes and
// spaces dropped, case folded, SHA-256; "" when it cannot be a code.
func recoveryDigest(code string) string {
	norm := strings.ToLower(strings.NewReplacer("-", "", " ", "").Replace(strings.TrimSpace(code)))
	if len(norm) != 16 {
		return ""
	}
	sum := sha256.Sum256([]byte(norm))
	return hex.EncodeToString(sum[:])
}
