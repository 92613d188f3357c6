package main

import (
	"context"
	"fmt"
	"log/slog"
	"time"

	"github.com/usestats/usestats/aggregation"
	"github.com/usestats/usestats/moodle"
)

// siteSettingsEvery is how often serve reads the site's block_use_stats
// settings again: a change takes effect within it, without a restart. A
// variable only so that tests can shorten it.
var siteSettingsEvery = 3 * time.Minute

// loadSitePolicy reads the site's block_use_stats settings into known:
// the "site" policy, which becomes every surface's default, or none when
// the site has no such settings. A change of version is logged with the
// rules and any note about the settings.
func loadSitePolicy(ctx context.Context, src *moodle.Source, known *aggregation.Policies, log *slog.Logger) error {
	settings, ok, err := src.BlockSettings(ctx)
	if err != nil {
		return err
	}
	old, had := known.Site()
	if !ok {
		known.SetSite(nil)
		if had {
			log.Info("the site's block_use_stats settings are gone; the default policy is usestats again")
		}
		return nil
	}
	p, notes, err := aggregation.SitePolicy(settings)
	if err != nil {
		return fmt.Errorf("the site's block_use_stats settings: %w", err)
	}
	known.SetSite(&p)
	if !had || old.Version != p.Version {
		log.Info("site policy from the site's block_use_stats settings", "version", p.Version,
			"threshold_s", p.Threshold, "credit_s", p.Credit, "one_session_per_course", p.SplitOnCourse,
			"capture", p.Capture, "ignore", p.Ignore, "enrolment_filter", p.EnrolmentFilter, "scorm", p.Scorm)
		for _, n := range notes {
			log.Warn("site policy: " + n)
		}
	}
	return nil
}

// refreshSitePolicy reads the settings again every interval until ctx
// ends; a failed read keeps the policy in use.
func refreshSitePolicy(ctx context.Context, src *moodle.Source, known *aggregation.Policies, every time.Duration, log *slog.Logger) {
	repeat(ctx, every, func() {
		if err := loadSitePolicy(ctx, src, known, log); err != nil && ctx.Err() == nil {
			log.Warn("reading the site's block_use_stats settings failed; the policy in use stays", "err", err.Error())
		}
	})
}

// compiledPolicies is what a compile pass compiles: the default policy
// (the site's when it has settings), then the extra presets.
func compiledPolicies(known *aggregation.Policies, extra []aggregation.Policy) []aggregation.Policy {
	def := known.Default()
	out := []aggregation.Policy{def}
	for _, p := range extra {
		if p.Name != def.Name {
			out = append(out, p)
		}
	}
	return out
}
