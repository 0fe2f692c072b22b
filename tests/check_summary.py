#!/usr/bin/env python3
"""check_summary.py SUMMARY.json CHECKS - check a run's JSON summary.

CHECKS holds one Python expression per line (blank lines and # comments
skipped), evaluated with `s` bound to the summary object.  Each must be true.
Checks compare results with theory or with other results of the same run
(e.g. the simulated mean wait against Erlang C within its confidence
interval), not with numbers copied from an earlier run.
"""
import json
import math
import sys


def main():
    with open(sys.argv[1]) as f:
        s = json.load(f)
    failed = 0
    with open(sys.argv[2]) as f:
        for n, line in enumerate(f, 1):
            expr = line.strip()
            if not expr or expr.startswith("#"):
                continue
            try:
                ok = eval(expr, {"math": math, "abs": abs}, {"s": s})
            except Exception as e:  # a missing key is a failure, not a crash
                ok = False
                expr += f"  ({type(e).__name__}: {e})"
            print(("ok    " if ok else "FAIL  ") + expr)
            failed += not ok
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
