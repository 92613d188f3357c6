#!/usr/bin/env bash
# The dashboard's and GraphiQL's browser tests (web/e2e): Debian's Chromium
# (installed when missing), the locked Playwright, then `playwright test`,
# which builds usestats and serves a fresh demo on 127.0.0.1. Screenshots go
# to .ci/artifacts/screenshots/. Extra arguments go to `playwright test`.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/install-chromium.sh
export PLAYWRIGHT_SKIP_BROWSER_DOWNLOAD=1
npm ci --prefix web/e2e --no-audit --no-fund --loglevel=error --prefer-offline
cd web/e2e
exec npx --no-install playwright test "$@"
