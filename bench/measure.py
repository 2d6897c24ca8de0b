"""Runs `seatmeter usage` and the DuckDB peer on the same log, checks that
their CSV outputs are identical, and prints wall time, peak memory and the
ratio. Each tool runs --runs times (alternating); the median wall time and
the largest peak memory are reported.
"""
import argparse
import filecmp
import os
import statistics
import subprocess
import sys
import time

TARGET_RATIO = 5.0
TARGET_MEMORY_MIB = 1024


def run(cmd: list[str]) -> tuple[float, float]:
    """Wall seconds and peak resident memory (MiB) of one run of cmd."""
    start = time.perf_counter()
    proc = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    _, status, usage = os.wait4(proc.pid, 0)
    wall = time.perf_counter() - start
    stderr = proc.stderr.read().decode() if proc.stderr else ""
    if os.waitstatus_to_exitcode(status) != 0:
        sys.exit(f"command failed: {' '.join(cmd)}\n{stderr}")
    return wall, usage.ru_maxrss / 1024


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--log", required=True)
    parser.add_argument("--period-start", default="2026-01-01")
    parser.add_argument("--seatmeter", default="target/release/seatmeter")
    parser.add_argument("--python", default=sys.executable)
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--out-dir", default="bench/data")
    args = parser.parse_args()

    ours_out = os.path.join(args.out_dir, "usage-seatmeter.csv")
    peer_out = os.path.join(args.out_dir, "usage-duckdb.csv")
    ours = [args.seatmeter, "usage", "--meetings", args.log, "--period-start", args.period_start,
            "--quiet", "--output", ours_out]
    anchor = args.period_start if "T" in args.period_start else args.period_start + " 00:00:00+00"
    peer = [args.python, os.path.join(os.path.dirname(__file__), "duckdb_usage.py"), args.log, peer_out, anchor]

    results = {"seatmeter": [], "duckdb": []}
    for i in range(args.runs):
        for name, cmd in (("seatmeter", ours), ("duckdb", peer)):
            wall, rss = run(cmd)
            results[name].append((wall, rss))
            print(f"run {i + 1}/{args.runs} {name:9} {wall:7.2f} s {rss:8.0f} MiB", flush=True)

    identical = filecmp.cmp(ours_out, peer_out, shallow=False)
    rows = sum(1 for _ in open(ours_out)) - 1
    size_mib = os.path.getsize(args.log) / 2**20
    wall = {k: statistics.median(w for w, _ in v) for k, v in results.items()}
    rss = {k: max(r for _, r in v) for k, v in results.items()}
    ratio = wall["duckdb"] / wall["seatmeter"]
    print()
    print(f"log: {args.log} ({size_mib:.0f} MiB); output: {rows} rows; outputs identical: {identical}")
    print(f"{'':10} {'wall (median)':>14} {'peak memory':>12}")
    for name in ("seatmeter", "duckdb"):
        print(f"{name:10} {wall[name]:12.2f} s {rss[name]:8.0f} MiB")
    print(f"ratio (duckdb / seatmeter wall time): {ratio:.2f}x  [target >= {TARGET_RATIO:.0f}x]")
    print(f"seatmeter peak memory: {rss['seatmeter']:.0f} MiB  [target <= {TARGET_MEMORY_MIB} MiB]")
    ok = identical and ratio >= TARGET_RATIO and rss["seatmeter"] <= TARGET_MEMORY_MIB
    print("RESULT:", "targets met" if ok else "TARGETS MISSED")
    sys.exit(0 if ok else 1)


if __name__ == "__main__":
    main()
