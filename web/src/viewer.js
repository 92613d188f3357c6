// What the signed-in token may read (Query.viewer), asked once at sign-in:
// it chooses the page a token opens on and the links the header offers.
let current = null;

export const VIEWER = '{ viewer { scopes site userIds courseIds groupIds groups { id courseId } } }';

export function getViewer() {
  return current;
}

export function setViewer(v) {
  current = v;
}

// The page a token opens on when the address names none: [page, id, params].
// A group token opens its group's course (Viewer.groups names it) with the
// group as the filter; a group that no longer exists leaves the course to
// be asked for.
export function homeOf(v) {
  if (!v) return null;
  if (v.site) return ['site', '', {}];
  if (v.userIds.length) return ['learner', v.userIds[0], {}];
  if (v.courseIds.length) return ['course', v.courseIds[0], {}];
  if (v.groups && v.groups.length) return ['course', v.groups[0].courseId, { group: v.groups[0].id }];
  if (v.groupIds.length) return ['course', '', { group: v.groupIds[0] }];
  return null;
}
