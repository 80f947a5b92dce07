#!/usr/bin/env bash
# Make sure redis-server (the Celery broker of the local Celery stack) is on this machine;
# install Debian's package if not (as root). The stack starts its own server on a free port.
set -euo pipefail
command -v redis-server >/dev/null 2>&1 && exit 0
if [[ $(id -u) -eq 0 ]] && command -v apt-get >/dev/null; then
  echo "redis-server not found: installing Debian's redis-server package..."
  apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq redis-server >/dev/null
  # Debian's package starts its own server on 6379; the project runs its own, so stop that one.
  (command -v service >/dev/null && service redis-server stop >/dev/null 2>&1) || true
  exit 0
fi
echo "redis-server not found. Install it (Debian/Ubuntu: 'sudo apt-get install redis-server')." >&2
exit 1
