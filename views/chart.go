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
// computed here, so the template only draws.
type Chart struct {
	Width, Height int
	PlotX, PlotY  int // top-left corner of the plot area
	PlotW, PlotH  int
	Max           int64 // value of the top gridline
	Bars          []ChartBar
	XLabels       []ChartLabel
	YLabels       []ChartLabel
	Legend        []ChartLegend
	Title         string
}

// ChartBar is one bar.
type ChartBar struct {
	X, Y, W, H int
	Class      string
	Value      int64
	Label      string // tooltip, e.g. "2026-11-28: 3 sign-ups"
}

// ChartLabel is an axis label or gridline position.
type ChartLabel struct {
	X, Y int
	Text string
}

// ChartLegend is one legend entry.
type ChartLegend struct {
	X, Y  int
	Class string
	Name  string
}

// I formats an int for an SVG attribute.
func I(n int) string { return strconv.Itoa(n) }

// NewChart lays out series over days (labels, oldest first) in a
// width×height box.
func NewChart(title string, days []string, width, height int, series ...ChartSeries) Chart {
	c := Chart{Width: width, Height: height, PlotX: 44, PlotY: 28, Title: title}
	c.PlotW, c.PlotH = width-c.PlotX-12, height-c.PlotY-36
	var top int64
	for _, s := range series {
		for _, v := range s.Values {
			top = max(top, v)
		}
	}
	c.Max = niceMax(top)
	slot := float64(c.PlotW) / float64(max(1, len(days)))
	barW := int(math.Max(1, math.Floor((slot-4)/float64(max(1, len(series))))))
	for d, day := range days {
		x0 := float64(c.PlotX) + slot*float64(d) + 2
		for si, s := range series {
			v := int64(0)
			if d < len(s.Values) {
				v = s.Values[d]
			}
			h := int(math.Round(float64(v) / float64(c.Max) * float64(c.PlotH)))
			c.Bars = append(c.Bars, ChartBar{
				X: int(x0) + si*barW, Y: c.PlotY + c.PlotH - h, W: barW, H: h,
				Class: s.Class, Value: v, Label: fmt.Sprintf("%s: %d %s", day, v, s.Name),
			})
		}
		if d%5 == 0 || d == len(days)-1 {
			text := day
			if len(day) == 10 {
				text = day[5:] // MM-DD
			}
			c.XLabels = append(c.XLabels, ChartLabel{X: int(x0 + slot/2 - 2), Y: c.PlotY + c.PlotH + 16, Text: text})
		}
	}
	for i := 0; i <= 4; i++ {
		v := c.Max * int64(i) / 4
		y := c.PlotY + c.PlotH - int(math.Round(float64(c.PlotH)*float64(i)/4))
		c.YLabels = append(c.YLabels, ChartLabel{X: c.PlotX - 6, Y: y, Text: strconv.FormatInt(v, 10)})
	}
	for i, s := range series {
		c.Legend = append(c.Legend, ChartLegend{X: c.PlotX + i*130, Y: 10, Class: s.Class, Name: s.Name})
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
