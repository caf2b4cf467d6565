package views

import (
	"bytes"
	"context"
	"strings"
	"testing"

	"github.com/PuerkitoBio/goquery"
)

func TestNiceMax(t *testing.T) {
	for in, want := range map[int64]int64{0: 4, 3: 4, 5: 8, 8: 8, 9: 20, 21: 40, 101: 200, 399: 400, 401: 800} {
		if got := niceMax(in); got != want {
			t.Errorf("niceMax(%d) = %d, want %d", in, got, want)
		}
	}
}

func TestChartGeometry(t *testing.T) {
	days := []string{"2031-03-01", "2031-03-02", "2031-03-03"}
	c := NewChart("t", days, 200, ChartSeries{Name: "a", Class: "series-a", Values: []int64{0, 2, 4}},
		ChartSeries{Name: "b", Class: "series-b", Values: []int64{4, 1}})
	if c.Max != 4 || len(c.Bars) != 6 {
		t.Fatalf("max %d bars %d", c.Max, len(c.Bars))
	}
	for i, want := range []int{0, c.PlotH, c.PlotH / 2, c.PlotH / 4, c.PlotH, 0} {
		b := c.Bars[i]
		if b.H != want || b.Y+b.H != c.PlotY+c.PlotH {
			t.Errorf("bar %d: h=%d y=%d, want h=%d on the baseline", i, b.H, b.Y, want)
		}
	}
	if c.Bars[2].X >= c.Bars[4].X || c.Bars[0].X >= c.Bars[1].X {
		t.Fatal("bars not laid out left to right")
	}
}

// TestLayoutEscapesAndCarriesCSRF renders a page the way handlers do and
// reads it back.
func TestLayoutEscapesAndCarriesCSRF(t *testing.T) {
	var buf bytes.Buffer
	p := Page{Title: "<b>t</b>", CSRF: "tok123", User: &User{Name: "<script>x</script>", Admin: true}, Assets: "v1"}
	if err := Home(p, []EventView{{ID: "7", Title: "<img src=x>", Tags: []string{"a b"}}}, nil).Render(context.Background(), &buf); err != nil {
		t.Fatal(err)
	}
	d, err := goquery.NewDocumentFromReader(&buf)
	if err != nil {
		t.Fatal(err)
	}
	if v, _ := d.Find(`form[action="/logout"] input[name="_csrf"]`).Attr("value"); v != "tok123" {
		t.Fatalf("logout form CSRF %q", v)
	}
	if d.Find("script").Length() != 0 || d.Find(`img[src="x"]`).Length() != 0 {
		t.Fatal("user text rendered as HTML")
	}
	if got := d.Find(`[data-testid="account-link"]`).Text(); got != "<script>x</script>" {
		t.Fatalf("name shown as %q", got)
	}
	if href, _ := d.Find(`.tags a`).Attr("href"); href != "/events?tag=a+b" {
		t.Fatalf("tag link %q", href)
	}
	if href, _ := d.Find(`link[rel="stylesheet"]`).Attr("href"); href != "/static/style.css?v=v1" {
		t.Fatalf("stylesheet %q", href)
	}
	if !strings.Contains(d.Find("nav").Text(), "Admin") {
		t.Fatal("no admin link for an admin")
	}
}

// TestFormErrorsReachScreenReaders: a bad field is aria-invalid="true" and
// described by its message; a summary linking to each bad field is
// announced and takes the focus.
func TestFormErrorsReachScreenReaders(t *testing.T) {
	var buf bytes.Buffer
	f := Form{Values: map[string]string{"title": ""}, Errors: map[string]string{"title": "Enter a title", "description": "Too long", "visibility": "Pick one"}}
	if err := EventForm(Page{}, f, "/events", "Create", []string{"UTC"}, TimeHints{Zone: "UTC"}).Render(context.Background(), &buf); err != nil {
		t.Fatal(err)
	}
	d, err := goquery.NewDocumentFromReader(&buf)
	if err != nil {
		t.Fatal(err)
	}
	for _, name := range []string{"title", "description", "visibility"} {
		in := d.Find("#" + name)
		if v, _ := in.Attr("aria-invalid"); v != "true" {
			t.Errorf("%s: aria-invalid %q, want \"true\"", name, v)
		}
		by, _ := in.Attr("aria-describedby")
		if by == "" || d.Find("#"+by).Text() != f.Errors[name] {
			t.Errorf("%s: aria-describedby %q does not name its message", name, by)
		}
	}
	if v, ok := d.Find("#location").Attr("aria-invalid"); ok {
		t.Errorf("a good field is aria-invalid=%q", v)
	}
	sum := d.Find(`[data-testid="error-summary"]`)
	if role, _ := sum.Attr("role"); role != "alert" || sum.AttrOr("tabindex", "") != "-1" || sum.Is("[autofocus]") == false {
		t.Errorf("summary role %q, tabindex %q, autofocus %v", role, sum.AttrOr("tabindex", ""), sum.Is("[autofocus]"))
	}
	if n := sum.Find(`a[href="#title"], a[href="#description"], a[href="#visibility"]`).Length(); n != 3 {
		t.Errorf("summary links to %d of 3 bad fields", n)
	}
}
