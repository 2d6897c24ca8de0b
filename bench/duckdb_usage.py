"""Computes host-license usage with DuckDB, the way a data analyst would:
the SQL in peer.sql, on the same meeting log, writing the same CSV.

usage: duckdb_usage.py LOG OUT PERIOD_START [--count-teleconference-only]
"""
import pathlib
import sys

import duckdb


def main() -> None:
    log, out, anchor = sys.argv[1:4]
    policy = "true" if "--count-teleconference-only" in sys.argv[4:] else "false"
    sql = (pathlib.Path(__file__).with_name("peer.sql")).read_text()
    for name, value in {"__LOG__": log, "__OUT__": out, "__ANCHOR__": anchor, "__POLICY__": policy}.items():
        sql = sql.replace(name, value.replace("'", "''") if name != "__POLICY__" else value)
    con = duckdb.connect()
    con.execute("SET enable_progress_bar = false")
    con.execute(sql)


if __name__ == "__main__":
    main()
