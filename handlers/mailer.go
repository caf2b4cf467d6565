package handlers

import (
	"bytes"
	"context"
	"net/url"

	"github.com/a-h/templ"
	"github.com/planner/planner/models"
	"github.com/planner/planner/views"
)

// SiteName is the name mails and pages give the site.
const SiteName = "Planner"

// mailer composes the account mails from the templ views, with links built
// from the base URL (never from the Host header). It is the accounts
// service's account.Mailer.
type mailer struct {
	base *url.URL
}

func (m mailer) link(path, token string) string {
	u := *m.base
	u.Path = path
	u.RawQuery = url.Values{"token": {token}}.Encode()
	return u.String()
}

func (m mailer) compose(kind, to, subject string, v views.MailView, text, html func(views.MailView) templ.Component) (models.OutboxMail, error) {
	var tb, hb bytes.Buffer
	if err := text(v).Render(context.Background(), &tb); err != nil {
		return models.OutboxMail{}, err
	}
	if err := html(v).Render(context.Background(), &hb); err != nil {
		return models.OutboxMail{}, err
	}
	return models.OutboxMail{Kind: kind, ToAddr: to, Subject: subject, TextBody: tb.String(), HTMLBody: hb.String()}, nil
}

func (m mailer) view(u *models.User, link string) views.MailView {
	return views.MailView{Site: SiteName, BaseURL: m.base.String(), Name: u.Name, Link: link}
}

// PasswordReset is the mail with the link to /password/reset.
func (m mailer) PasswordReset(u *models.User, token string) (models.OutboxMail, error) {
	return m.compose(models.MailPasswordReset, u.Email, "Reset your "+SiteName+" password",
		m.view(u, m.link("/password/reset", token)), views.ResetMailText, views.ResetMailHTML)
}

// VerifyEmail is the mail with the link to /account/verify.
func (m mailer) VerifyEmail(u *models.User, token string) (models.OutboxMail, error) {
	return m.compose(models.MailVerifyEmail, u.Email, "Confirm your email address for "+SiteName,
		m.view(u, m.link("/account/verify", token)), views.VerifyMailText, views.VerifyMailHTML)
}
