#!/usr/bin/env bash
# Benchmark of `seatmeter usage` against DuckDB on the same generated log.
#
#   bash bench/usage.sh                  # 10,000,000 meetings over 100,000 hosts
#   MEETINGS=1000000 HOSTS=10000 RUNS=1 bash bench/usage.sh
#
# Builds Seatmeter in release mode, installs DuckDB from PyPI into
# bench/.venv, generates the log once into bench/data/ (kept for later
# runs), runs both tools RUNS times, checks that their CSV outputs are
# identical and prints wall time, peak memory and the ratio.
set -euo pipefail
cd "$(dirname "$0")/.."

MEETINGS=${MEETINGS:-10000000}
HOSTS=${HOSTS:-100000}
RUNS=${RUNS:-3}
SEED=${SEED:-7}
DUCKDB_VERSION=${DUCKDB_VERSION:-2.0.1}

cargo build --release --locked -p seatmeter
if [ ! -x bench/.venv/bin/python ]; then
  python3 -m venv bench/.venv
fi
bench/.venv/bin/python -c "import duckdb" 2>/dev/null \
  || bench/.venv/bin/pip install --quiet "duckdb==${DUCKDB_VERSION}"

mkdir -p bench/data
log="bench/data/meetings-${MEETINGS}-${HOSTS}-${SEED}.csv"
if [ ! -s "$log" ]; then
  echo "generating $log ..."
  target/release/seatmeter generate-log --meetings "$MEETINGS" --hosts "$HOSTS" \
    --start 2026-01-01 --days 365 --seed "$SEED" --output "$log.partial"
  mv "$log.partial" "$log"
fi

echo "machine: $(nproc) cores, $(free -g | awk '/Mem:/{print $2}') GiB; duckdb $(bench/.venv/bin/python -c 'import duckdb; print(duckdb.__version__)')"
bench/.venv/bin/python bench/measure.py --log "$log" --period-start 2026-01-01 --runs "$RUNS" \
  --python bench/.venv/bin/python
