package aggregation

import (
	"context"
	"fmt"
)

// ListCohorts returns a page of the site's cohorts and how many match.
func (s *Service) ListCohorts(ctx context.Context, f CohortFilter, page Page[CohortOrder]) ([]CohortInfo, int, error) {
	r, err := s.roster()
	if err != nil {
		return nil, 0, err
	}
	if page.Offset < 0 || page.Limit < 0 {
		return nil, 0, Errorf(EInvalid, "cohorts: negative offset (%d) or limit (%d)", page.Offset, page.Limit)
	}
	cs, n, err := r.ListCohorts(ctx, f, page)
	if err != nil {
		return nil, 0, fmt.Errorf("query service: cohorts: %w", err)
	}
	return cs, n, nil
}

// FindCohort finds one cohort (ENotFound when there is none).
func (s *Service) FindCohort(ctx context.Context, by CohortKey) (CohortInfo, error) {
	r, err := s.roster()
	if err != nil {
		return CohortInfo{}, err
	}
	if (by.ID != 0) == (by.IDNumber != "") {
		return CohortInfo{}, Errorf(EInvalid, "cohort: give exactly one of id or idnumber")
	}
	c, err := r.FindCohort(ctx, by)
	if err != nil {
		return CohortInfo{}, fmt.Errorf("query service: cohort: %w", err)
	}
	return c, nil
}

// CohortMembers returns a cohort's members in user id order.
func (s *Service) CohortMembers(ctx context.Context, cohortID int64) ([]UserInfo, error) {
	r, err := s.roster()
	if err != nil {
		return nil, err
	}
	us, err := r.CohortMembers(ctx, cohortID)
	if err != nil {
		return nil, fmt.Errorf("query service: members of cohort %d: %w", cohortID, err)
	}
	return us, nil
}

// CountUsers returns how many users the directory lists for the filter.
func (s *Service) CountUsers(ctx context.Context, f UserFilter) (int, error) {
	r, err := s.roster()
	if err != nil {
		return 0, err
	}
	n, err := r.CountUsers(ctx, f)
	if err != nil {
		return 0, fmt.Errorf("query service: counting users: %w", err)
	}
	return n, nil
}

// CountSiteUsers returns how many users SiteUsers lists for the cohort
// (0: every user; an unknown cohort is ENotFound) and the directory
// filter, before any filter on time.
func (s *Service) CountSiteUsers(ctx context.Context, cohort int64, f UserFilter) (int, error) {
	if cohort == 0 {
		return s.CountUsers(ctx, f)
	}
	if _, err := s.FindCohort(ctx, CohortKey{ID: cohort}); err != nil {
		return 0, err
	}
	members, err := s.CohortMembers(ctx, cohort)
	if err != nil {
		return 0, err
	}
	n := 0
	for _, u := range members {
		if matchesUser(u, f) {
			n++
		}
	}
	return n, nil
}
