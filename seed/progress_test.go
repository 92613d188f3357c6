package seed

import (
	"bytes"
	"context"
	"regexp"
	"strconv"
	"testing"
)

// The progress bar's rates are the log's own: none far above the rate of
// the whole fill (the bar's clock once started at its first render, when a
// batch was already written, and its first rate read billions of rows a
// second).
func TestFillProgressRate(t *testing.T) {
	if testing.Short() {
		t.Skip("writes a hundred thousand rows")
	}
	var bar bytes.Buffer
	st, err := Seed(context.Background(), liteDB(t), Options{Seed: 1, Users: 100, Progress: &bar})
	if err != nil {
		t.Fatal(err)
	}
	var rates []float64
	for _, m := range regexp.MustCompile(`(\d+) rows/s`).FindAllStringSubmatch(bar.String(), -1) {
		r, _ := strconv.ParseFloat(m[1], 64)
		rates = append(rates, r)
	}
	if len(rates) < 3 {
		t.Fatalf("%d rows, %d rates shown: too few to judge:\n%q", st.LogRows, len(rates), bar.String())
	}
	final := rates[len(rates)-1]
	if whole := float64(st.LogRows) / st.Duration.Seconds(); final < whole/2 {
		t.Errorf("the last rate %.0f rows/s is below the fill's %.0f rows/s", final, whole)
	}
	for i, r := range rates {
		if r > 10*final {
			t.Errorf("rate %d of %d: %.0f rows/s, over ten times the final %.0f rows/s:\n%q", i+1, len(rates), r, final, bar.String())
		}
	}
}

// Without a bar, LogRows hears of every batch of log rows: the totals
// grow, and the last is the log's size.
func TestFillLogRows(t *testing.T) {
	var seen []int64
	st, err := Seed(context.Background(), liteDB(t), Options{Seed: 1, Users: 10, Days: 20, LogRows: func(n int64) { seen = append(seen, n) }})
	if err != nil {
		t.Fatal(err)
	}
	if len(seen) == 0 || seen[len(seen)-1] != st.LogRows {
		t.Fatalf("LogRows heard %v, the log has %d rows", seen, st.LogRows)
	}
	for i := 1; i < len(seen); i++ {
		if seen[i] <= seen[i-1] {
			t.Fatalf("totals do not grow: %v", seen)
		}
	}
}
