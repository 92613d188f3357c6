package resolvers

import (
	"context"

	"github.com/usestats/usestats/aggregation"
	"github.com/usestats/usestats/model"
)

// viewerOf resolves Query.viewer: the request's scopes, spelled out.
func (r *Resolver) viewerOf(ctx context.Context) *model.Viewer {
	scopes := scopesOf(ctx)
	v := &model.Viewer{Scopes: []string{}, UserIds: []int64{}, CourseIds: []int64{}, GroupIds: []int64{}, Site: scopes.CanReadSite()}
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
	return v
}
