package metrics

import (
	"io"
	"math"
	"strconv"
)

// ContentType is the media type of the text exposition format that
// WriteText writes, version 0.0.4.
const ContentType = "text/plain; version=0.0.4; charset=utf-8"

// WriteText writes fams in Prometheus' text exposition format (version
// 0.0.4), in the order given (Gather sorts them): for each family its
// "# HELP" and "# TYPE" lines, then one line per metric, a histogram's as
// NAME_bucket lines (cumulative, "le" last among the labels, ending with
// le="+Inf"), NAME_sum and NAME_count. Label values escape '\', '"' and
// newlines, help texts '\' and newlines; numbers are written as
// Prometheus' client writes them ("+Inf", "-Inf", "NaN", else the
// shortest representation, 1e+06 for a million). Families without
// metrics are left out.
func WriteText(w io.Writer, fams []Family) error {
	_, err := w.Write(AppendText(nil, fams))
	return err
}

// AppendText appends fams in the text exposition format, as WriteText
// writes them, to b.
func AppendText(b []byte, fams []Family) []byte {
	for i := range fams {
		f := &fams[i]
		if len(f.Metrics) == 0 {
			continue
		}
		b = append(b, "# HELP "...)
		b = append(b, f.Name...)
		b = append(b, ' ')
		b = appendEscaped(b, f.Help, false)
		b = append(b, "\n# TYPE "...)
		b = append(b, f.Name...)
		b = append(b, ' ')
		b = append(b, f.Type.String()...)
		b = append(b, '\n')
		for j := range f.Metrics {
			m := &f.Metrics[j]
			h := m.Histogram
			if f.Type != Histogram || h == nil {
				b = appendSample(b, f.Name, "", m.Labels, "", m.Value)
				continue
			}
			for _, bk := range h.Buckets {
				if math.IsInf(bk.UpperBound, +1) {
					continue // written last, with the count
				}
				b = appendSample(b, f.Name, "_bucket", m.Labels, formatFloat(bk.UpperBound), float64(bk.Count))
			}
			b = appendSample(b, f.Name, "_bucket", m.Labels, "+Inf", float64(h.Count))
			b = appendSample(b, f.Name, "_sum", m.Labels, "", h.Sum)
			b = appendSample(b, f.Name, "_count", m.Labels, "", float64(h.Count))
		}
	}
	return b
}

// appendSample appends one line: name+suffix, the labels (and le, if
// not ""), the value.
func appendSample(b []byte, name, suffix string, labels []Label, le string, v float64) []byte {
	b = append(b, name...)
	b = append(b, suffix...)
	if len(labels) > 0 || le != "" {
		b = append(b, '{')
		for i, l := range labels {
			if i > 0 {
				b = append(b, ',')
			}
			b = appendLabel(b, l.Name, l.Value)
		}
		if le != "" {
			if len(labels) > 0 {
				b = append(b, ',')
			}
			b = appendLabel(b, "le", le)
		}
		b = append(b, '}')
	}
	b = append(b, ' ')
	b = appendFloat(b, v)
	return append(b, '\n')
}

func appendLabel(b []byte, name, value string) []byte {
	b = append(b, name...)
	b = append(b, '=', '"')
	b = appendEscaped(b, value, true)
	return append(b, '"')
}

// appendEscaped appends s with '\' and newlines escaped, and '"' too if
// quoted.
func appendEscaped(b []byte, s string, quoted bool) []byte {
	for i := 0; i < len(s); i++ {
		switch c := s[i]; {
		case c == '\\':
			b = append(b, '\\', '\\')
		case c == '\n':
			b = append(b, '\\', 'n')
		case c == '"' && quoted:
			b = append(b, '\\', '"')
		default:
			b = append(b, c)
		}
	}
	return b
}

// appendFloat appends v as Prometheus' client formats numbers.
func appendFloat(b []byte, v float64) []byte {
	switch {
	case v == 0:
		return append(b, '0') // -0 too, as Prometheus' client writes it
	case math.IsNaN(v):
		return append(b, "NaN"...)
	case math.IsInf(v, +1):
		return append(b, "+Inf"...)
	case math.IsInf(v, -1):
		return append(b, "-Inf"...)
	}
	return strconv.AppendFloat(b, v, 'g', -1, 64)
}

func formatFloat(v float64) string { return string(appendFloat(nil, v)) }
