package moodle_test

import (
	"context"
	"reflect"
	"testing"

	"github.com/usestats/usestats/moodle"
	"github.com/usestats/usestats/seed"
)

// The block's settings are read as stored, other plugins' left out; a
// site without them says so.
func TestBlockSettings(t *testing.T) {
	fill := func(ctx context.Context, w *seed.Writer) error {
		return w.Add(ctx,
			seed.ConfigPlugin{ID: 1, Plugin: "block_use_stats", Name: "threshold", Value: "30"},
			seed.ConfigPlugin{ID: 2, Plugin: "block_use_stats", Name: "ignoremodules", Value: "forum, page"},
			seed.ConfigPlugin{ID: 3, Plugin: "block_dedication", Name: "threshold", Value: "45"},
		)
	}
	forEachEngine(t, fill, func(t *testing.T, src *moodle.Source) {
		got, ok, err := src.BlockSettings(context.Background())
		want := map[string]string{"threshold": "30", "ignoremodules": "forum, page"}
		if err != nil || !ok || !reflect.DeepEqual(got, want) {
			t.Errorf("BlockSettings = %v, %v, %v; want %v", got, ok, err, want)
		}
	})
	forEachEngine(t, func(context.Context, *seed.Writer) error { return nil }, func(t *testing.T, src *moodle.Source) {
		if got, ok, err := src.BlockSettings(context.Background()); err != nil || ok || got != nil {
			t.Errorf("a site without the block's settings: %v, %v, %v", got, ok, err)
		}
	})
}
