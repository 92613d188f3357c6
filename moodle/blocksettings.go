package moodle

import (
	"context"
	"fmt"
)

// BlockSettingsPlugin is the plugin name of block_use_stats' settings in
// config_plugins.
const BlockSettingsPlugin = "block_use_stats"

// BlockSettings returns the site's block_use_stats settings (name →
// value, as Moodle stores them). ok is false when the site has none: the
// block was never installed, or config_plugins is missing (a partial
// schema), which is not an error.
func (s *Source) BlockSettings(ctx context.Context) (settings map[string]string, ok bool, err error) {
	var rows []struct {
		Name  string `bun:"name"`
		Value string `bun:"value"`
	}
	err = s.db.NewSelect().TableExpr(s.tableAs("config_plugins", "cp")).Column("cp.name", "cp.value").
		Where("cp.plugin = ?", BlockSettingsPlugin).Scan(ctx, &rows)
	if err != nil {
		if isMissingTable(err) && ctx.Err() == nil {
			return nil, false, nil
		}
		return nil, false, fmt.Errorf("reading the block_use_stats settings: %w", err)
	}
	if len(rows) == 0 {
		return nil, false, nil
	}
	settings = make(map[string]string, len(rows))
	for _, r := range rows {
		settings[r.Name] = r.Value
	}
	return settings, true, nil
}
