// What the signed-in token may read (Query.viewer), asked once at sign-in:
// it chooses the page a token opens on and the links the header offers.
let current = null;

export const VIEWER = '{ viewer { scopes site userIds courseIds groupIds } }';

export function getViewer() {
  return current;
}

export function setViewer(v) {
  current = v;
}

// The page a token opens on when the address names none: [page, id, params].
// A group token opens the course page with its group as the filter; the API
// does not say which course a group belongs to, so the id is asked for there.
export function homeOf(v) {
  if (!v) return null;
  if (v.site) return ['site', '', {}];
  if (v.userIds.length) return ['learner', v.userIds[0], {}];
  if (v.courseIds.length) return ['course', v.courseIds[0], {}];
  if (v.groupIds.length) return ['course', '', { group: v.groupIds[0] }];
  return null;
}
