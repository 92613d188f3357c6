package resolvers_test

import (
	"errors"
	"fmt"
	"net/http"
	"strings"
	"testing"
)

// A NUL character in a lookup is the caller's mistake (BAD_USER_INPUT,
// which tells nothing of the users, whatever the token), never INTERNAL
// from the database.
func TestNULInLookups(t *testing.T) {
	e := newEnv(t)
	e.fails("site-token", `{ user(by: {username: "learner\u00007"}) { id } }`, nil, "BAD_USER_INPUT")
	e.fails("site-token", `{ user(by: {email: "\u0000"}) { id } }`, nil, "BAD_USER_INPUT")
	e.fails("site-token", `{ course(by: {shortname: "C\u00005"}) { id } }`, nil, "BAD_USER_INPUT")
	e.fails("site-token", `{ users(filter: {search: "a\u0000"}) { edges { cursor } } }`, nil, "BAD_USER_INPUT")
	e.fails("course5-token", `{ user(by: {idnumber: "\u0000"}) { id } }`, nil, "BAD_USER_INPUT")
	if n := e.dir.Calls()["FindUser"] + e.dir.Calls()["FindCourse"] + e.dir.Calls()["ListUsers"]; n != 0 {
		t.Errorf("%d lookups reached the directory", n)
	}
}

// Inputs never come back whole: a message quoting a large argument is cut.
func TestLargeInputNotEchoed(t *testing.T) {
	e := newEnv(t)
	big := strings.Repeat("x", 900<<10)
	r := e.fails("site-token", `query($p: String) { user(by: {id: 7}) { stats(policy: {name: $p}) { total } } }`, map[string]any{"p": big}, "BAD_USER_INPUT")
	if len(r.Body) > 1024 || !strings.Contains(r.Errors[0].Message, "unknown policy") {
		t.Errorf("%d-byte answer: %.400s", len(r.Body), r.Body)
	}
}

// One request writes one log line however many of its fields fail, with
// the first error and their count.
func TestOneLogLinePerRequest(t *testing.T) {
	e := newEnv(t)
	e.dir.SetFailure(errors.New("pq: connection to 10.9.8.7 lost in a way nobody classified"))
	var b strings.Builder
	b.WriteString("{")
	for i := range 25 {
		fmt.Fprintf(&b, ` a%d: course(by: {shortname: "C%d"}) { id }`, i, i)
	}
	b.WriteString(" }")
	r := e.post("site-token", "application/json", b.String(), nil)
	if len(r.Errors) != 25 {
		t.Fatalf("%d errors: %.300s", len(r.Errors), r.Body)
	}
	lines := strings.Split(strings.TrimSpace(e.log.String()), "\n")
	if len(lines) != 1 || !strings.Contains(lines[0], fmt.Sprintf(`"errors":%d`, len(r.Errors))) || !strings.Contains(lines[0], "10.9.8.7") {
		t.Errorf("want one line counting %d errors, got %d: %.600s", len(r.Errors), len(lines), e.log)
	}
	if r.Status != http.StatusOK {
		t.Errorf("status %d", r.Status)
	}
}
