#!/usr/bin/env bash
# Make sure PostgreSQL server binaries are on this machine; install Debian's package if not (as root).
set -euo pipefail
for d in "${PG_BINDIR:-}" /usr/lib/postgresql/{15,16,17,14}/bin; do
  [[ -n "$d" && -x "$d/pg_ctl" ]] && exit 0
done
command -v pg_ctl >/dev/null 2>&1 && exit 0
if [[ $(id -u) -eq 0 ]] && command -v apt-get >/dev/null; then
  echo "PostgreSQL server not found: installing Debian's postgresql package..."
  apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq postgresql >/dev/null
  # Debian's package starts its own cluster on 5432; the project runs its own, so stop that one.
  command -v pg_ctlcluster >/dev/null && pg_lsclusters -h 2>/dev/null | while read -r ver name _; do
    pg_ctlcluster "$ver" "$name" stop || true; done
  exit 0
fi
echo "PostgreSQL server binaries not found. Install them (Debian/Ubuntu: 'sudo apt-get install postgresql')" >&2
echo "or set PG_BINDIR to the folder holding initdb and pg_ctl." >&2
exit 1
