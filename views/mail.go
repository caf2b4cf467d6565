package views

import (
	"context"
	"fmt"
	"io"

	"github.com/a-h/templ"
)

// plainText is a templ component that writes plain text: the text part of
// a mail, where HTML escaping would garble the words and the links.
func plainText(format string, args ...any) templ.Component {
	return templ.ComponentFunc(func(_ context.Context, w io.Writer) error {
		_, err := fmt.Fprintf(w, format, args...)
		return err
	})
}

// ResetMailText is the plain-text part of the password reset mail.
func ResetMailText(m MailView) templ.Component {
	return plainText(`Hello %s,

Someone (we hope you) asked to reset the password of your %s account.
To choose a new password, follow this link within 30 minutes:

%s

The link works once, and stops working if your password changes. If you
did not ask for this, ignore this mail: your password stays as it is.

-- 
%s, %s
`, m.Name, m.Site, m.Link, m.Site, m.BaseURL)
}

// VerifyMailText is the plain-text part of the address verification mail.
func VerifyMailText(m MailView) templ.Component {
	return plainText(`Hello %s,

Please confirm that this is the email address of your %s account:

%s

If you did not sign up, ignore this mail.

-- 
%s, %s
`, m.Name, m.Site, m.Link, m.Site, m.BaseURL)
}

// RSVPMailText is the plain-text part of the seat mails.
func RSVPMailText(m RSVPMailView) templ.Component {
	lead := "You are going to " + m.Title + "."
	if m.Promoted {
		lead = "A seat opened up: you are off the waitlist and going to " + m.Title + "."
	}
	details := ""
	if m.When != "" {
		details += "When: " + m.When + "\n"
	}
	if m.Location != "" {
		details += "Where: " + m.Location + "\n"
	}
	return plainText(`Hello %s,

%s

%s
The event is attached as a calendar file. See it, or cancel if you
cannot come so someone else gets the seat:

%s

-- 
%s, %s
`, m.Name, lead, details, m.Link, m.Site, m.BaseURL)
}
