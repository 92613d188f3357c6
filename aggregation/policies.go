package aggregation

import (
	"strings"
	"sync/atomic"
)

// Policies resolves policy names for every surface: the presets and, when
// the Moodle site has block_use_stats settings, the "site" policy built
// from them (SitePolicy), which is then the default. The site policy is
// replaced while serving (SetSite) when the settings change; answers name
// the version they used. The zero value knows the presets only. It is safe
// for concurrent use.
type Policies struct {
	site atomic.Pointer[Policy]
}

// SetSite makes p the site policy, or removes it (nil).
func (r *Policies) SetSite(p *Policy) {
	if p != nil {
		c := *p
		p = &c
	}
	r.site.Store(p)
}

// Site returns the site policy, if the site has one.
func (r *Policies) Site() (Policy, bool) {
	if r == nil {
		return Policy{}, false
	}
	if p := r.site.Load(); p != nil {
		return clonePolicy(*p), true
	}
	return Policy{}, false
}

// Default returns the policy used when a caller names none: the site
// policy when there is one, else the usestats preset.
func (r *Policies) Default() Policy {
	if p, ok := r.Site(); ok {
		return p
	}
	return usestatsPolicy()
}

// DefaultName returns the name of Default.
func (r *Policies) DefaultName() string {
	if _, ok := r.Site(); ok {
		return PolicySite
	}
	return DefaultPolicy
}

// Lookup returns the named policy ("" = Default). An unknown name, or
// "site" on a site without block_use_stats settings, is an ENotFound
// error listing the known names.
func (r *Policies) Lookup(name string) (Policy, error) {
	if name == "" {
		return r.Default(), nil
	}
	if name == PolicySite {
		if p, ok := r.Site(); ok {
			return p, nil
		}
	} else if p, err := Preset(name); err == nil {
		return p, nil
	}
	return Policy{}, Errorf(ENotFound, "unknown policy %q (known: %s)", name, strings.Join(r.Names(), ", "))
}

// Names lists the known policies, the default first.
func (r *Policies) Names() []string {
	names := PresetNames()
	if _, ok := r.Site(); ok {
		names = append([]string{PolicySite}, names...)
	}
	return names
}

// clonePolicy copies p with lists of its own.
func clonePolicy(p Policy) Policy {
	p.Capture = append([]string(nil), p.Capture...)
	p.Ignore = append([]string(nil), p.Ignore...)
	p.DropOrigins = append([]string(nil), p.DropOrigins...)
	return p
}
