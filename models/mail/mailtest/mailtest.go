// Package mailtest is a real SMTP server for tests (emersion/go-smtp, in
// process): it receives what Planner sends, so tests read the mail a user
// would get, links and all. Only tests import it.
package mailtest

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/base64"
	"errors"
	"io"
	"math/big"
	"mime"
	"mime/multipart"
	"mime/quotedprintable"
	"net"
	"net/mail"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/emersion/go-sasl"
	"github.com/emersion/go-smtp"
)

// Message is one received mail.
type Message struct {
	From string
	To   []string
	Raw  string
	// Subject, Text and HTML are the decoded header and parts.
	Subject, Text, HTML string
	// Attachments are the other parts, decoded.
	Attachments []Attachment
}

// Attachment is one attached file of a received mail.
type Attachment struct {
	Name, Type, Body string
}

// Links returns the absolute links of the plain-text part.
func (m Message) Links() []string {
	return regexp.MustCompile(`https?://[^\s<>"]+`).FindAllString(m.Text, -1)
}

// Server is a running SMTP server.
type Server struct {
	srv  *smtp.Server
	ln   net.Listener
	mu   sync.Mutex
	msgs []Message
	fail bool
	// User and Password, when set, are required through AUTH PLAIN.
	User, Password string
	// ClientTLS trusts the server's certificate (StartTLS only).
	ClientTLS *tls.Config
	got       chan struct{}
}

// Start runs a server on a free loopback port until the test ends.
func Start(t testing.TB) *Server {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	return StartOn(t, ln)
}

// StartOn runs a server on ln until the test ends.
func StartOn(t testing.TB, ln net.Listener) *Server {
	s := &Server{ln: ln, got: make(chan struct{}, 1000)}
	s.srv = smtp.NewServer(backend{s})
	s.srv.Domain = "mail.test"
	s.srv.AllowInsecureAuth = true
	s.srv.ReadTimeout, s.srv.WriteTimeout = 10*time.Second, 10*time.Second
	go func() { _ = s.srv.Serve(ln) }()
	t.Cleanup(func() { _ = s.srv.Close() })
	return s
}

// Addr is host:port.
func (s *Server) Addr() string { return s.ln.Addr().String() }

// URL is the PLANNER_SMTP_URL of the server (with user, when set).
func (s *Server) URL() string {
	if s.User != "" {
		return "smtp://" + s.User + "@" + s.Addr()
	}
	return "smtp://" + s.Addr()
}

// Failing makes the server refuse every mail with a temporary error (451),
// like a mail server that is down for a while.
func (s *Server) Failing(fail bool) {
	s.mu.Lock()
	s.fail = fail
	s.mu.Unlock()
}

// Messages returns what was received so far.
func (s *Server) Messages() []Message {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]Message(nil), s.msgs...)
}

// Wait waits until at least n mails were received, or fails the test.
func (s *Server) Wait(t testing.TB, n int, timeout time.Duration) []Message {
	t.Helper()
	deadline := time.After(timeout)
	for {
		if msgs := s.Messages(); len(msgs) >= n {
			return msgs
		}
		select {
		case <-s.got:
		case <-deadline:
			t.Fatalf("mailtest: %d mails after %v, want %d", len(s.Messages()), timeout, n)
		}
	}
}

type backend struct{ s *Server }

func (b backend) NewSession(*smtp.Conn) (smtp.Session, error) { return &session{s: b.s}, nil }

type session struct {
	s      *Server
	from   string
	to     []string
	authed bool
}

func (x *session) AuthMechanisms() []string {
	if x.s.User == "" {
		return nil
	}
	return []string{sasl.Plain}
}

func (x *session) Auth(string) (sasl.Server, error) {
	return sasl.NewPlainServer(func(_, user, pass string) error {
		if user != x.s.User || pass != x.s.Password {
			return errors.New("bad credentials")
		}
		x.authed = true
		return nil
	}), nil
}

func (x *session) Mail(from string, _ *smtp.MailOptions) error {
	if x.s.User != "" && !x.authed {
		return smtp.ErrAuthRequired
	}
	x.s.mu.Lock()
	fail := x.s.fail
	x.s.mu.Unlock()
	if fail {
		return &smtp.SMTPError{Code: 451, EnhancedCode: smtp.EnhancedCode{4, 3, 0}, Message: "try again later"}
	}
	x.from = from
	return nil
}

func (x *session) Rcpt(to string, _ *smtp.RcptOptions) error {
	x.to = append(x.to, to)
	return nil
}

func (x *session) Data(r io.Reader) error {
	raw, err := io.ReadAll(r)
	if err != nil {
		return err
	}
	m := Message{From: x.from, To: x.to, Raw: string(raw)}
	parse(&m)
	x.s.mu.Lock()
	x.s.msgs = append(x.s.msgs, m)
	x.s.mu.Unlock()
	x.s.got <- struct{}{}
	return nil
}

func (x *session) Reset()        { x.from, x.to = "", nil }
func (x *session) Logout() error { return nil }

// parse decodes the subject and the text and HTML parts.
func parse(m *Message) {
	msg, err := mail.ReadMessage(strings.NewReader(m.Raw))
	if err != nil {
		return
	}
	dec := new(mime.WordDecoder)
	if subj, err := dec.DecodeHeader(msg.Header.Get("Subject")); err == nil {
		m.Subject = subj
	}
	m.walk(msg.Header.Get("Content-Type"), msg.Header.Get("Content-Transfer-Encoding"), "", msg.Body)
}

// walk reads one part: the text and HTML parts and the attachments,
// inside nested multiparts too (multipart/mixed around
// multipart/alternative when a mail has an attachment).
func (m *Message) walk(ctype, enc, disposition string, r io.Reader) {
	mt, params, err := mime.ParseMediaType(ctype)
	if err != nil {
		mt = "text/plain"
	}
	if strings.HasPrefix(mt, "multipart/") {
		mr := multipart.NewReader(r, params["boundary"])
		for {
			p, err := mr.NextPart()
			if err != nil {
				return
			}
			m.walk(p.Header.Get("Content-Type"), p.Header.Get("Content-Transfer-Encoding"), p.Header.Get("Content-Disposition"), p)
		}
	}
	b, _ := io.ReadAll(decode(enc, r))
	if d, dp, err := mime.ParseMediaType(disposition); err == nil && (d == "attachment" || dp["filename"] != "") {
		m.Attachments = append(m.Attachments, Attachment{Name: dp["filename"], Type: mt, Body: string(b)})
		return
	}
	switch mt {
	case "text/plain":
		if m.Text == "" {
			m.Text = string(b)
		}
	case "text/html":
		if m.HTML == "" {
			m.HTML = string(b)
		}
	default:
		m.Attachments = append(m.Attachments, Attachment{Name: params["name"], Type: mt, Body: string(b)})
	}
}

// decode undoes a Content-Transfer-Encoding.
func decode(enc string, r io.Reader) io.Reader {
	switch strings.ToLower(enc) {
	case "quoted-printable":
		return quotedprintable.NewReader(r)
	case "base64":
		return base64.NewDecoder(base64.StdEncoding, r)
	}
	return r
}

// StartTLS is Start with STARTTLS offered, on a certificate made for the
// test; ClientTLS is the client configuration that trusts it.
func StartTLS(t testing.TB) *Server {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "127.0.0.1"},
		IPAddresses: []net.IP{net.ParseIP("127.0.0.1")}, NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour),
		KeyUsage: x509.KeyUsageDigitalSignature, ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth}}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	cert, err := x509.ParseCertificate(der)
	if err != nil {
		t.Fatal(err)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	s := &Server{ln: ln, got: make(chan struct{}, 1000)}
	s.srv = smtp.NewServer(backend{s})
	s.srv.Domain = "mail.test"
	s.srv.TLSConfig = &tls.Config{Certificates: []tls.Certificate{{Certificate: [][]byte{der}, PrivateKey: key}}, MinVersion: tls.VersionTLS12}
	s.srv.ReadTimeout, s.srv.WriteTimeout = 10*time.Second, 10*time.Second
	pool := x509.NewCertPool()
	pool.AddCert(cert)
	s.ClientTLS = &tls.Config{RootCAs: pool, ServerName: "127.0.0.1", MinVersion: tls.VersionTLS12}
	go func() { _ = s.srv.Serve(ln) }()
	t.Cleanup(func() { _ = s.srv.Close() })
	return s
}
