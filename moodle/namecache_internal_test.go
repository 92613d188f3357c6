package moodle

import (
	"context"
	"errors"
	"testing"
	"time"
)

// Descriptions are read once per NamesTTL, missing ids included, and read
// again once they expire; a failed read caches nothing.
func TestNameCache(t *testing.T) {
	var c nameCache[string]
	reads := 0
	read := func(_ context.Context, ids []int64) (map[int64]string, error) {
		reads++
		out := map[int64]string{}
		for _, id := range ids {
			if id != 404 {
				out[id] = "name" + string(rune('0'+id))
			}
		}
		return out, nil
	}
	ctx := context.Background()
	for range 3 {
		got, err := cached(ctx, &c, []int64{1, 2, 404}, read)
		if err != nil || len(got) != 2 || got[1] != "name1" {
			t.Fatalf("got %v, %v", got, err)
		}
	}
	if reads != 1 {
		t.Fatalf("%d reads for three lookups within the TTL, want 1", reads)
	}
	if _, missing := c.get([]int64{1, 404}, time.Now().Add(NamesTTL+time.Second)); len(missing) != 2 {
		t.Fatalf("expired entries still served: missing %v", missing)
	}
	var empty nameCache[string]
	if _, err := cached(ctx, &empty, []int64{7}, func(context.Context, []int64) (map[int64]string, error) {
		return nil, errors.New("down")
	}); err == nil {
		t.Fatal("a failed read returned no error")
	}
	if _, missing := empty.get([]int64{7}, time.Now()); len(missing) != 1 {
		t.Fatal("a failed read was cached")
	}
}
