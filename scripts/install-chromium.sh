#!/usr/bin/env bash
# Installs Debian's Chromium (for the web pages' browser checks) when it is
# missing. Idempotent; needs root (CI and the developers' machines run as root).
set -euo pipefail
if command -v chromium >/dev/null 2>&1; then
  exit 0
fi
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq
apt-get install -y -qq --no-install-recommends chromium >/dev/null
command -v chromium
