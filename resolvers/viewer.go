package resolvers

import (
	"context"

	"github.com/usestats/usestats/aggregation"
	"github.com/usestats/usestats/model"
)

// viewerOf resolves Query.viewer: the request's scopes, spelled out, and
// the course of each of its groups.
func (r *Resolver) viewerOf(ctx context.Context) (*model.Viewer, error) {
	scopes := scopesOf(ctx)
	v := &model.Viewer{Scopes: []string{}, UserIds: []int64{}, CourseIds: []int64{}, GroupIds: []int64{}, Groups: []model.Group{},
		Site: scopes.CanReadSite()}
	for _, s := range scopes.List() {
		v.Scopes = append(v.Scopes, s.String())
		switch s.Kind {
		case aggregation.ScopeUserSelf:
			v.UserIds = append(v.UserIds, s.ID)
		case aggregation.ScopeCourseRead:
			v.CourseIds = append(v.CourseIds, s.ID)
		case aggregation.ScopeGroupRead:
			v.GroupIds = append(v.GroupIds, s.ID)
		}
	}
	gs, err := r.cfg.Service.FindGroups(ctx, v.GroupIds)
	if err != nil {
		return nil, err
	}
	for _, g := range gs {
		v.Groups = append(v.Groups, groupModel(g))
	}
	return v, nil
}
