package main

import (
	"testing"

	"github.com/usestats/usestats/aggregation"
)

// --policies names presets compiled besides the default; "site" is
// accepted (it is the default whenever the site has settings) and adds
// nothing; an unknown name is refused.
func TestParsePolicies(t *testing.T) {
	ps, err := parsePolicies(" canvas, site,,edx5")
	if err != nil || len(ps) != 2 || ps[0].Name != "canvas" || ps[1].Name != "edx5" {
		t.Fatalf("parsePolicies = %v, %v", ps, err)
	}
	if _, err := parsePolicies("canvas,nope"); aggregation.ErrorCode(err) != aggregation.EInvalid {
		t.Errorf("unknown name: %v", err)
	}
	known := &aggregation.Policies{}
	if got := compiledPolicies(known, ps); len(got) != 3 || got[0].Name != "usestats" {
		t.Errorf("without site settings: %v", got)
	}
	site, _, _ := aggregation.SitePolicy(map[string]string{"threshold": "20"})
	known.SetSite(&site)
	if got := compiledPolicies(known, ps); len(got) != 3 || got[0].Name != "site" || got[0].Threshold != 1200 {
		t.Errorf("with site settings: %v", got)
	}
}
