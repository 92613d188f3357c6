#!/usr/bin/env bash
# Installs Debian's Chromium (for the web pages' browser checks) when it is
# missing. Idempotent; needs root (CI and the developers' machines run as root).
set -euo pipefail
# The browser tests (web/e2e) start /usr/bin/chromium, Debian's.
if [ -x /usr/bin/chromium ]; then
  exit 0
fi
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq
apt-get install -y -qq --no-install-recommends chromium >/dev/null
test -x /usr/bin/chromium
/usr/bin/chromium --version 2>/dev/null | head -n 1
