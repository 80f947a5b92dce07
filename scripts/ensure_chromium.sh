#!/usr/bin/env bash
# Make sure a headless Chromium exists for the dashboard screenshot test (tests/dashboard/).
# Idempotent: does nothing when `chromium` is already on PATH. Installs Debian's package as root;
# as another user it only says what to install (the screenshot test then skips with that reason).
set -euo pipefail

if command -v chromium >/dev/null 2>&1 || command -v chromium-browser >/dev/null 2>&1; then
    exit 0
fi
if [[ "$(id -u)" != "0" ]]; then
    echo "chromium is missing: install it with 'sudo apt-get install -y chromium' (the screenshot test skips without it)" >&2
    exit 0
fi
if ! command -v apt-get >/dev/null 2>&1; then
    echo "chromium is missing and apt-get is not available: install Chromium by hand" >&2
    exit 0
fi
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq
apt-get install -y -qq --no-install-recommends chromium fonts-dejavu-core >/dev/null
command -v chromium >/dev/null 2>&1 && echo "chromium installed: $(chromium --version 2>/dev/null || true)"
