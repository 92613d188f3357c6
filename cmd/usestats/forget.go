package main

import (
	"context"
	"fmt"
	"io"
	"strconv"
	"strings"

	"github.com/usestats/usestats/aggregation"
)

// userList collects repeated --user flags (ids, or comma-separated ids).
type userList []int64

func (u *userList) String() string { return fmt.Sprint([]int64(*u)) }

func (u *userList) Set(v string) error {
	for _, f := range strings.Split(v, ",") {
		id, err := strconv.ParseInt(strings.TrimSpace(f), 10, 64)
		if err != nil || id <= 0 {
			return fmt.Errorf("%q is not a user id", f)
		}
		*u = append(*u, id)
	}
	return nil
}

// runForget removes users' rollups and sessions from the store (every
// compiled policy); their answers then come from the Moodle log.
func runForget(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := newFlags("forget", stderr)
	storeURL := fs.String("store", envOr("USESTATS_STORE", defaultStore), "usestats' own database (env USESTATS_STORE)")
	var users userList
	fs.Var(&users, "user", "Moodle user id whose rollups to remove (repeat, or comma-separated)")
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	if len(users) == 0 {
		return aggregation.Errorf(aggregation.EInvalid, "forget: name at least one --user ID")
	}
	st, err := openStore(ctx, *storeURL)
	if err != nil {
		return err
	}
	defer st.Close()
	if err := aggregation.ForgetUsers(ctx, st, users); err != nil {
		return fmt.Errorf("forget: %w", err)
	}
	fmt.Fprintf(stdout, "forgot the rollups and sessions of %d users\n", len(users))
	return nil
}
