package export_test

import (
	"bytes"
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/xuri/excelize/v2"

	"github.com/usestats/usestats/aggregation"
)

// save writes an export that must succeed to a file of the test's.
func (f *fixture) save(t *testing.T, target string) string {
	t.Helper()
	w := f.get(t, "site", target)
	if w.Code != 200 {
		t.Fatalf("GET %s: %d %s", target, w.Code, w.Body.String())
	}
	name := filepath.Join(t.TempDir(), strings.NewReplacer("/", "_", "?", "_", "=", "_", "&", "_").Replace(target))
	if err := os.WriteFile(name, w.Body.Bytes(), 0o600); err != nil {
		t.Fatal(err)
	}
	return name
}

// pythonCSV reads a CSV file with Python's csv module (RFC 4180 as
// spreadsheets and scripts read it) and returns its records.
func pythonCSV(t *testing.T, file string) [][]string {
	t.Helper()
	py := tool(t, "python3", "python3 is part of the CI machine")
	const script = `import csv, json, sys
with open(sys.argv[1], newline="", encoding="utf-8") as f:
    json.dump(list(csv.reader(f, strict=True)), sys.stdout)`
	out, err := exec.Command(py, "-c", script, file).Output()
	if err != nil {
		t.Fatalf("python3: %v", err)
	}
	var recs [][]string
	if err := json.Unmarshal(out, &recs); err != nil {
		t.Fatal(err)
	}
	return recs
}

// Python's csv module reads the CSV exports back to the service's
// numbers: names with commas, quotes and line breaks stay whole, and
// formula starters keep their apostrophe.
func TestExportCSVReadByPython(t *testing.T) {
	f := newFixture(t)
	q := f.defaultQuery()
	got := tableOf(pythonCSV(t, f.save(t, "/export/course/5/participants.csv?orderBy=total_desc")))
	f.checkParticipants(t, got, f.wantParticipants(t, 5, q, aggregation.ParticipantFilter{}, aggregation.ParticipantByTotal, true))
	var total int64
	for _, r := range got.rows {
		n, err := strconv.ParseInt(r["total_seconds"], 10, 64)
		if err != nil {
			t.Fatal(err)
		}
		total += n
	}
	agg, err := f.svc.CourseAggregate(t.Context(), 5, q, aggregation.ParticipantFilter{})
	if err != nil {
		t.Fatal(err)
	}
	if total != agg.Total.Elapsed || total == 0 {
		t.Errorf("the column total_seconds sums to %d, the course aggregate says %d", total, agg.Total.Elapsed)
	}
	users := tableOf(pythonCSV(t, f.save(t, "/export/users.csv?orderBy=name_asc&cohort=4")))
	var fives []int64
	for _, id := range f.users {
		if id%5 == 0 {
			fives = append(fives, id)
		}
	}
	checkUsers(t, users, f.wantUsers(t, fives, aggregation.SiteUserFilter{Cohort: 4}, "name_asc"))
}

// xlsxCell is one cell as exceljs reads it.
type xlsxCell struct {
	Type  string `json:"type"`
	Value any    `json:"value"`
}

// exceljs reads an XLSX file with the npm package exceljs (not the
// library that wrote it).
func exceljs(t *testing.T, file string) (sheet string, rows [][]xlsxCell) {
	t.Helper()
	node := tool(t, "node", "npm ci --prefix tools/export-interop")
	dir, _ := filepath.Abs("../tools/export-interop")
	if _, err := os.Stat(filepath.Join(dir, "node_modules", "exceljs")); err != nil {
		if os.Getenv("CI") == "true" {
			t.Fatalf("exceljs missing: %v (.ci/run runs npm ci --prefix tools/export-interop)", err)
		}
		t.Skipf("exceljs missing: %v (npm ci --prefix tools/export-interop)", err)
	}
	var stderr bytes.Buffer
	cmd := exec.Command(node, filepath.Join(dir, "read-xlsx.mjs"), file)
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("read-xlsx.mjs: %v: %s", err, stderr.String())
	}
	var wb struct {
		Sheets []struct {
			Name string       `json:"name"`
			Rows [][]xlsxCell `json:"rows"`
		} `json:"sheets"`
	}
	if err := json.Unmarshal(out, &wb); err != nil {
		t.Fatal(err)
	}
	if len(wb.Sheets) != 1 {
		t.Fatalf("%d sheets, want 1", len(wb.Sheets))
	}
	return wb.Sheets[0].Name, wb.Sheets[0].Rows
}

// want is what a cell must be: its exceljs type and value ("" type: empty).
func checkCell(t *testing.T, where string, got xlsxCell, typ string, value any) {
	t.Helper()
	if typ == "" {
		if got.Type != "null" || got.Value != nil {
			t.Fatalf("%s: %+v, want an empty cell", where, got)
		}
		return
	}
	if got.Type != typ || got.Value != value {
		t.Fatalf("%s: %s %#v, want %s %#v", where, got.Type, got.Value, typ, value)
	}
}

// exceljs reads the XLSX exports back: the same header and rows as the
// CSV, numbers as numbers, booleans as booleans, times as ISO text, and
// the site's texts as they are, strings that no spreadsheet evaluates.
func TestExportXLSXReadByExceljs(t *testing.T) {
	f := newFixture(t)
	for _, c := range []struct{ target, sheet string }{
		{"/export/course/5/participants.xlsx?orderBy=grade_desc&group=51", "participants"},
		{"/export/users.xlsx?orderBy=total_desc", "users"},
	} {
		t.Run(c.sheet, func(t *testing.T) {
			name, rows := exceljs(t, f.save(t, c.target))
			want := f.csvOK(t, "site", strings.Replace(c.target, ".xlsx", ".csv", 1))
			if name != c.sheet || len(rows) != len(want.rows)+1 {
				t.Fatalf("sheet %q with %d rows, want %q with %d", name, len(rows), c.sheet, len(want.rows)+1)
			}
			for i, h := range want.header {
				checkCell(t, "header", rows[0][i], "string", h)
			}
			formulaTexts := 0
			for r, row := range want.rows {
				for i, col := range want.header {
					where := "row " + strconv.Itoa(r+1) + " " + col
					v := row[col]
					switch {
					case v == "":
						checkCell(t, where, rows[r+1][i], "", nil)
					case col == "userid" || col == "total_seconds" || col == "events" || col == "grade":
						n, _ := strconv.ParseFloat(v, 64)
						checkCell(t, where, rows[r+1][i], "number", n)
					case col == "enrolment_active":
						checkCell(t, where, rows[r+1][i], "boolean", v == "true")
					case col == "firstname" || col == "lastname" || col == "groups" || col == "roles" || col == "username":
						raw := strings.TrimPrefix(v, "'") // CSV's guard; the workbook keeps the text as it is
						if raw != v {
							formulaTexts++
						}
						checkCell(t, where, rows[r+1][i], "string", raw)
					default:
						checkCell(t, where, rows[r+1][i], "string", v)
					}
				}
			}
			if formulaTexts == 0 {
				t.Errorf("no text started with a formula character: the fixture tests nothing")
			}
		})
	}
}

// excelize itself reads the workbook back (no Node needed): the frozen
// header, then the CSV's rows.
func TestExportXLSXReadBack(t *testing.T) {
	f := newFixture(t)
	w := f.get(t, "site", "/export/course/5/participants.xlsx?orderBy=name_asc")
	wb, err := excelize.OpenReader(w.Body)
	if err != nil {
		t.Fatal(err)
	}
	defer wb.Close()
	rows, err := wb.GetRows("participants", excelize.Options{RawCellValue: true})
	if err != nil {
		t.Fatal(err)
	}
	want := f.csvOK(t, "site", "/export/course/5/participants.csv?orderBy=name_asc")
	if len(rows) != len(want.rows)+1 || strings.Join(rows[0], ",") != strings.Join(want.header, ",") {
		t.Fatalf("%d rows, header %q", len(rows), rows[0])
	}
	for r, row := range want.rows {
		for i, col := range want.header {
			got := ""
			if i < len(rows[r+1]) {
				got = rows[r+1][i]
			}
			v := row[col]
			if col == "enrolment_active" {
				v = map[string]string{"true": "1", "false": "0"}[v]
			}
			if col == "firstname" || col == "lastname" || col == "groups" {
				v = strings.TrimPrefix(v, "'")
			}
			if got != v {
				t.Fatalf("row %d %s: %q, want %q", r+1, col, got, v)
			}
		}
	}
}
