package export

import (
	"encoding/csv"
	"fmt"
	"io"
	"strconv"
	"time"

	"github.com/xuri/excelize/v2"
)

// cellKind is what a cell holds.
type cellKind uint8

const (
	cellEmpty cellKind = iota
	cellText           // text from the site (names, roles, groups): guarded against formulas in CSV
	cellPlain          // text we made (h:mm, ISO times): never starts with a formula character
	cellInt
	cellFloat
	cellBool
)

// cell is one value of a row.
type cell struct {
	kind cellKind
	s    string
	n    int64
	f    float64
	b    bool
}

func textCell(s string) cell     { return cell{kind: cellText, s: s} }
func intCell(n int64) cell       { return cell{kind: cellInt, n: n} }
func timeCell(t int64) cell      { return cell{kind: cellPlain, s: isoTime(t)} }
func itoa(n int64) string        { return strconv.FormatInt(n, 10) }
func isoTime(t int64) string     { return time.Unix(t, 0).UTC().Format(time.RFC3339) }
func quote(s string) string      { return fmt.Sprintf("%.32q", s) }
func boolText(b bool) string     { return strconv.FormatBool(b) }
func floatText(f float64) string { return strconv.FormatFloat(f, 'f', -1, 64) }

// hm writes seconds as hours and minutes, h:mm, rounded down to the
// minute (7530 s → 2:05); hours are unbounded.
func hm(sec int64) string {
	sign := ""
	if sec < 0 {
		sign, sec = "-", -sec
	}
	m := sec / 60
	return fmt.Sprintf("%s%d:%02d", sign, m/60, m%60)
}

// guard defuses spreadsheet formulas: a text starting with =, +, -, @,
// a tab or a carriage return gets a leading apostrophe, which
// spreadsheets show as text (OWASP's CSV injection advice).
func guard(s string) string {
	if s == "" {
		return s
	}
	switch s[0] {
	case '=', '+', '-', '@', '\t', '\r':
		return "'" + s
	}
	return s
}

// sheet writes rows of cells in one format.
type sheet interface {
	header(cols []string) error
	row(cells []cell) error
	// flush sends what was written so far on (CSV); a no-op for XLSX.
	flush() error
	// close ends the file and writes what remains to w.
	close(w io.Writer) error
}

// csvSheet writes RFC 4180 CSV (UTF-8, fields quoted as the RFC says) as
// rows come. Records end with LF, not the RFC's CRLF: encoding/csv's CRLF
// mode also rewrites the line breaks inside fields (a name's LF becomes
// CRLF, a lone CR is dropped), and a text must read back as stored.
// Every CSV reader (spreadsheets, Python's csv) takes either.
type csvSheet struct {
	w    io.Writer
	cw   *csv.Writer
	line []string
}

func newCSV(w io.Writer) *csvSheet {
	return &csvSheet{w: w, cw: csv.NewWriter(w)}
}

func (c *csvSheet) header(cols []string) error { return c.cw.Write(cols) }

func (c *csvSheet) row(cells []cell) error {
	c.line = c.line[:0]
	for _, v := range cells {
		var s string
		switch v.kind {
		case cellText:
			s = guard(v.s)
		case cellPlain:
			s = v.s
		case cellInt:
			s = itoa(v.n)
		case cellFloat:
			s = floatText(v.f)
		case cellBool:
			s = boolText(v.b)
		}
		c.line = append(c.line, s)
	}
	return c.cw.Write(c.line)
}

// flush writes the buffered rows to w and flushes w when it can.
func (c *csvSheet) flush() error {
	c.cw.Flush()
	if err := c.cw.Error(); err != nil {
		return err
	}
	if f, ok := c.w.(interface{ Flush() error }); ok {
		return f.Flush()
	}
	return nil
}

func (c *csvSheet) close(io.Writer) error { return c.flush() }

// xlsxSheet writes one worksheet through excelize's StreamWriter, which
// keeps rows on disk past a few MB; the workbook is zipped to w at the
// end. Numbers are numbers, times ISO 8601 text, booleans booleans;
// strings are inline strings, which spreadsheets never evaluate.
type xlsxSheet struct {
	f      *excelize.File
	sw     *excelize.StreamWriter
	r      int
	values []any
}

func newXLSX(kind Kind) (*xlsxSheet, error) {
	f := excelize.NewFile()
	name := "users"
	if kind == Participants {
		name = "participants"
	}
	if err := f.SetSheetName("Sheet1", name); err != nil {
		_ = f.Close()
		return nil, fmt.Errorf("export: xlsx: %w", err)
	}
	sw, err := f.NewStreamWriter(name)
	if err != nil {
		_ = f.Close()
		return nil, fmt.Errorf("export: xlsx: %w", err)
	}
	return &xlsxSheet{f: f, sw: sw}, nil
}

func (x *xlsxSheet) header(cols []string) error {
	if err := x.sw.SetPanes(&excelize.Panes{Freeze: true, YSplit: 1, TopLeftCell: "A2", ActivePane: "bottomLeft"}); err != nil {
		return fmt.Errorf("export: xlsx: %w", err)
	}
	if err := x.sw.SetColWidth(1, len(cols), 14); err != nil {
		return fmt.Errorf("export: xlsx: %w", err)
	}
	vals := make([]any, len(cols))
	for i, c := range cols {
		vals[i] = c
	}
	return x.set(vals)
}

func (x *xlsxSheet) row(cells []cell) error {
	x.values = x.values[:0]
	for _, v := range cells {
		var a any
		switch v.kind {
		case cellText, cellPlain:
			a = v.s
		case cellInt:
			a = v.n
		case cellFloat:
			a = v.f
		case cellBool:
			a = v.b
		}
		x.values = append(x.values, a)
	}
	return x.set(x.values)
}

func (x *xlsxSheet) set(vals []any) error {
	x.r++
	ref, err := excelize.CoordinatesToCellName(1, x.r)
	if err == nil {
		err = x.sw.SetRow(ref, vals)
	}
	if err != nil {
		return fmt.Errorf("export: xlsx row %d: %w", x.r, err)
	}
	return nil
}

func (x *xlsxSheet) flush() error { return nil }

func (x *xlsxSheet) close(w io.Writer) error {
	if err := x.sw.Flush(); err != nil {
		return fmt.Errorf("export: xlsx: %w", err)
	}
	if err := x.f.Write(w); err != nil {
		return fmt.Errorf("export: xlsx: %w", err)
	}
	return nil
}

// discard removes the workbook's temporary files.
func (x *xlsxSheet) discard() { _ = x.f.Close() }
