package views

import (
	"fmt"
	"math"
	"strconv"
)

// ChartSeries is one set of bars: a name for the legend, a CSS class for
// its colour, and one value per day.
type ChartSeries struct {
	Name   string
	Class  string
	Values []int64
}

// Chart is a grouped bar chart laid out for inline SVG: every coordinate is
// computed here, so the template only draws. Vertical positions are in px
// (the chart has a fixed height); horizontal ones are percentages of the
// chart's width, so the SVG needs no viewBox: it stretches to any width
// while its text keeps the size the stylesheet gives it.
type Chart struct {
	Height       int
	PlotX, PlotW float64 // the plot area, in % of the width
	PlotY, PlotH int     // the plot area, in px
	Max          int64   // value of the top gridline
	Bars         []ChartBar
	XLabels      []ChartLabel
	YLabels      []ChartLabel
	Legend       []ChartLegend
	Title        string
}

// ChartBar is one bar.
type ChartBar struct {
	X, W  float64 // %
	Y, H  int     // px
	Class string
	Value int64
	Label string // tooltip, e.g. "2026-11-28: 3 sign-ups"
}

// ChartLabel is an axis label or gridline position.
type ChartLabel struct {
	X     float64 // %
	Y     int     // px
	Text  string
	Minor bool // an x label that narrow screens leave out
}

// ChartLegend is one legend entry, Offset px right of the plot's left edge.
type ChartLegend struct {
	Offset, Y int
	Class     string
	Name      string
}

// I formats an int for an SVG attribute.
func I(n int) string { return strconv.Itoa(n) }

// Pct formats a percentage for an SVG attribute.
func Pct(f float64) string { return strconv.FormatFloat(f, 'f', 3, 64) + "%" }

// The plot's margins in % of the width: room on the left for the y labels
// (right-aligned at 1 % short of the plot), a little on the right.
const (
	chartLeft  = 12.0
	chartRight = 5.0 // half a label past the last day's middle
)

// NewChart lays out series over days (labels, oldest first) in a chart
// height px tall.
func NewChart(title string, days []string, height int, series ...ChartSeries) Chart {
	c := Chart{Height: height, PlotX: chartLeft, PlotY: 28, Title: title}
	c.PlotW, c.PlotH = 100-chartLeft-chartRight, height-c.PlotY-36
	var top int64
	for _, s := range series {
		for _, v := range s.Values {
			top = max(top, v)
		}
	}
	c.Max = niceMax(top)
	slot := c.PlotW / float64(max(1, len(days)))
	gap := slot * 0.2 // between days
	barW := (slot - gap) / float64(max(1, len(series)))
	for d, day := range days {
		x0 := c.PlotX + slot*float64(d) + gap/2
		for si, s := range series {
			v := int64(0)
			if d < len(s.Values) {
				v = s.Values[d]
			}
			h := int(math.Round(float64(v) / float64(c.Max) * float64(c.PlotH)))
			c.Bars = append(c.Bars, ChartBar{
				X: x0 + float64(si)*barW, Y: c.PlotY + c.PlotH - h, W: barW, H: h,
				Class: s.Class, Value: v, Label: fmt.Sprintf("%s: %d %s", day, v, s.Name),
			})
		}
		// Every fifth day counting back from the last, so the newest day
		// is always labelled and the labels are evenly spaced: at 12 px,
		// "MM-DD" needs about 35 px, which five days have on a 360 px
		// phone. Every other label is "minor", which narrower screens hide.
		if back := len(days) - 1 - d; back%5 == 0 {
			text := day
			if len(day) == 10 {
				text = day[5:] // MM-DD
			}
			c.XLabels = append(c.XLabels, ChartLabel{X: c.PlotX + slot*(float64(d)+0.5), Y: c.PlotY + c.PlotH + 18, Text: text, Minor: back%10 != 0})
		}
	}
	for i := 0; i <= 4; i++ {
		v := c.Max * int64(i) / 4
		y := c.PlotY + c.PlotH - int(math.Round(float64(c.PlotH)*float64(i)/4))
		c.YLabels = append(c.YLabels, ChartLabel{X: c.PlotX - 1, Y: y, Text: strconv.FormatInt(v, 10)})
	}
	for i, s := range series {
		c.Legend = append(c.Legend, ChartLegend{Offset: i * 130, Y: 6, Class: s.Class, Name: s.Name})
	}
	return c
}

// niceMax rounds n up to 4 × (1, 2, 5 or 10 × a power of ten) so the four
// gridlines fall on round numbers; at least 4.
func niceMax(n int64) int64 {
	if n <= 4 {
		return 4
	}
	step := float64(n) / 4
	mag := math.Pow(10, math.Floor(math.Log10(step)))
	for _, m := range []float64{1, 2, 5, 10} {
		if m*mag >= step {
			return int64(m*mag) * 4
		}
	}
	return int64(10*mag) * 4
}
