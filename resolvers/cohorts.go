package resolvers

import (
	"context"
	"strings"

	"github.com/usestats/usestats/aggregation"
	"github.com/usestats/usestats/model"
)

// Cohorts: sets of users across courses, read by site:read tokens only.

func needSite(ctx context.Context, what string) error {
	if !scopesOf(ctx).CanReadSite() {
		return forbidden("%s needs the site:read scope", what)
	}
	return nil
}

// listCohorts resolves Query.cohorts.
func (r *Resolver) listCohorts(ctx context.Context, filter *model.CohortFilter, orderBy *model.CohortOrder, first *int, after *string) (*model.CohortConnection, error) {
	if err := needSite(ctx, "listing cohorts"); err != nil {
		return nil, err
	}
	var f aggregation.CohortFilter
	if filter != nil {
		if filter.Search != nil {
			f.Search = strings.TrimSpace(*filter.Search)
			if strings.ContainsRune(f.Search, 0) {
				return nil, invalid("filter.search must not contain a NUL character")
			}
		}
		f.Visible = filter.Visible
	}
	n, err := pageSize(first)
	if err != nil {
		return nil, err
	}
	off, err := decodeOffset(after, "cohorts", 0)
	if err != nil {
		return nil, err
	}
	page := aggregation.Page[aggregation.CohortOrder]{Offset: off, Limit: max(n, 1)}
	if orderBy != nil {
		switch orderBy.Field {
		case model.CohortOrderFieldID:
		case model.CohortOrderFieldName:
			page.Order = aggregation.CohortByName
		default:
			return nil, invalid("orderBy.field: unknown %.32q", orderBy.Field)
		}
		page.Desc = orderBy.Direction == model.OrderDirectionDesc
	}
	cs, total, err := r.cfg.Service.ListCohorts(ctx, f, page)
	if err != nil {
		return nil, err
	}
	cs = cs[:min(n, len(cs))]
	conn := &model.CohortConnection{Edges: []model.CohortEdge{}, PageInfo: &model.PageInfo{}, TotalCount: total}
	for i, c := range cs {
		conn.Edges = append(conn.Edges, model.CohortEdge{Cursor: encodeCursor("cohorts", 0, int64(off+i+1)), Node: cohortModel(c)})
	}
	conn.PageInfo.HasNextPage = off+len(cs) < total
	if len(conn.Edges) > 0 {
		end := conn.Edges[len(conn.Edges)-1].Cursor
		conn.PageInfo.EndCursor = &end
	}
	return conn, nil
}

// findCohort resolves Query.cohort.
func (r *Resolver) findCohort(ctx context.Context, by model.CohortBy) (*model.Cohort, error) {
	if err := needSite(ctx, "reading a cohort"); err != nil {
		return nil, err
	}
	var key aggregation.CohortKey
	if by.ID != nil {
		key.ID = *by.ID
	}
	if by.Idnumber != nil {
		if err := lookupText("by.idnumber", *by.Idnumber); err != nil {
			return nil, err
		}
		key.IDNumber = *by.Idnumber
	}
	if (by.ID != nil) == (by.Idnumber != nil) || (by.ID != nil && key.ID <= 0) {
		return nil, invalid("cohort: give exactly one of a positive id or an idnumber")
	}
	c, err := r.cfg.Service.FindCohort(ctx, key)
	if err != nil {
		return nil, err
	}
	return cohortModel(c), nil
}

// cohortMembers resolves Cohort.members: a page of the members in id
// order, with their count.
func (r *Resolver) cohortMembers(ctx context.Context, c *model.Cohort, first *int, after *string) (*model.UserConnection, error) {
	if err := needSite(ctx, "reading a cohort's members"); err != nil {
		return nil, err
	}
	n, err := pageSize(first)
	if err != nil {
		return nil, err
	}
	from, err := decodeCursor(after, "cohort-members", c.ID)
	if err != nil {
		return nil, err
	}
	us, err := r.cfg.Service.CohortMembers(ctx, c.ID)
	if err != nil {
		return nil, err
	}
	conn := &model.UserConnection{Edges: []model.UserEdge{}, PageInfo: &model.PageInfo{}, TotalCount: len(us)}
	users := requestOf(ctx).loaders.users
	for _, u := range us {
		if u.ID <= from {
			continue
		}
		if len(conn.Edges) == n {
			conn.PageInfo.HasNextPage = true
			break
		}
		users.Prime(u.ID, u)
		conn.Edges = append(conn.Edges, model.UserEdge{Cursor: encodeCursor("cohort-members", c.ID, u.ID), Node: userModel(u, model.Access{All: true})})
	}
	if len(conn.Edges) > 0 {
		end := conn.Edges[len(conn.Edges)-1].Cursor
		conn.PageInfo.EndCursor = &end
	}
	return conn, nil
}

func cohortModel(c aggregation.CohortInfo) *model.Cohort {
	return &model.Cohort{ID: c.ID, Name: c.Name, Idnumber: c.IDNumber, Visible: c.Visible}
}
