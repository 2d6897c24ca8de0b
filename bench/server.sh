#!/usr/bin/env bash
# Load benchmark of the server on loopback: the admission check against the
# server's own no-op endpoint, and event ingestion in batches of 1,000, on
# SQLite and (when it answers) on the local PostgreSQL.
#
#   bash bench/server.sh                 # 10 s per measurement
#   SECONDS_EACH=30 bash bench/server.sh
#   POSTGRES_URL= bash bench/server.sh   # SQLite only
#
# Builds Seatmeter in release mode and installs wrk (Debian) if missing;
# see bench/server.py for what is measured and the targets.
set -euo pipefail
cd "$(dirname "$0")/.."

SECONDS_EACH=${SECONDS_EACH:-10}
POSTGRES_URL=${POSTGRES_URL-postgres://postgres@127.0.0.1:5432/test}

if ! command -v wrk >/dev/null 2>&1; then
  apt-get install -y -qq wrk || { apt-get update -qq && apt-get install -y -qq wrk; }
fi
cargo build --release --locked -p seatmeter

args=(--seconds "$SECONDS_EACH")
if [ -n "$POSTGRES_URL" ] && pg_isready -q -d "$POSTGRES_URL" 2>/dev/null; then
  args+=(--postgres "$POSTGRES_URL")
fi
echo "machine: $(nproc) cores, $(free -g | awk '/Mem:/{print $2}') GiB; $(wrk --version 2>&1 | head -n 1)"
python3 bench/server.py "${args[@]}"
