#!/usr/bin/env bash
# Rebuilds web/dist from web/src and the locked packages and fails when the
# result differs from the committed web/dist (CI runs it; the build is
# deterministic). Needs Node 20.19+ and the npm registry (or its cache).
set -euo pipefail
cd "$(dirname "$0")/.."
npm ci --prefix web --no-audit --no-fund --loglevel=error --prefer-offline
npm run build --prefix web --silent -- --logLevel warn
if ! git diff --exit-code --stat -- web/dist || [ -n "$(git status --porcelain -- web/dist)" ]; then
  echo "web/dist differs from a build of web/src: run"
  echo "  npm ci --prefix web && npm run build --prefix web"
  echo "and commit web/dist."
  git status --porcelain -- web/dist
  exit 1
fi
echo "web/dist is the build of web/src"
