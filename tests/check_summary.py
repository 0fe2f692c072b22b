#!/usr/bin/env python3
"""check_summary.py SUMMARY.json CHECKS - check a run's JSON summary.
   check_summary.py --dir DIR CHECKS   - checks across runs: r[NAME] is DIR/NAME.json


CHECKS holds one Python expression per line (blank lines and # comments
skipped), evaluated with `s` bound to the summary object.  Each must be true.
Checks compare results with theory or with other results of the same run
(e.g. the simulated mean wait against Erlang C within its confidence
interval), not with numbers copied from an earlier run.
"""
import csv
import json
import math
import os
import sys


def csv_column(path, column):
    """The integer column of a CSV file, read independently of factorysim."""
    with open(path, newline="") as f:
        return [int(row[column]) for row in csv.DictReader(f)]


def main():
    s, r = None, {}
    if sys.argv[1] == "--dir":
        # every NAME.json of a directory, as r[NAME]
        d = sys.argv[2]
        for fn in sorted(os.listdir(d)):
            if fn.endswith(".json"):
                with open(os.path.join(d, fn)) as f:
                    r[fn[:-5]] = json.load(f)
        checks = sys.argv[3]
    else:
        with open(sys.argv[1]) as f:
            s = json.load(f)
        checks = sys.argv[2]
    # paths in checks are relative to the repository root
    os.chdir(os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))
    failed = 0
    with open(checks) as f:
        for n, line in enumerate(f, 1):
            expr = line.strip()
            if not expr or expr.startswith("#"):
                continue
            try:
                # one namespace, so that comprehensions in a check see s and r
                ok = eval(expr, {"math": math, "abs": abs, "csv_column": csv_column, "len": len,
                                 "sum": sum, "min": min, "max": max, "s": s, "r": r})
            except Exception as e:  # a missing key is a failure, not a crash
                ok = False
                expr += f"  ({type(e).__name__}: {e})"
            print(("ok    " if ok else "FAIL  ") + expr)
            failed += not ok
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
