#!/usr/bin/env python3
"""readback_check.py - independent checks of `factorysim compare` and `export`:
the numbers they print are read again here from the HDF5 files with h5py, and
the differences and intervals are recomputed by hand.

  readback_check.py compare-csv  CSV  A.h5 B.h5      one run per design
  readback_check.py compare-text TXT  A.h5 B.h5      the printed table
  readback_check.py compare-reps JSON A_r0.h5 ... -- B_r0.h5 ...
  readback_check.py export DIR RUN.h5
  readback_check.py export-sweep DIR SWEEP.h5
Exit status 0 when everything matches; each mismatch is printed.
"""
import csv
import json
import math
import os
import sys

import h5py
import numpy as np

FAILS = []

# summary path of each metric compare prints (the first that exists is used)
PATHS = {
    "tokens_per_s": ["power/tokens_per_s", "serving/all/output_tokens_per_s"],
    "goodput_tokens_per_s": ["serving/all/goodput_tokens_per_s"],
    "tokens_per_s_per_mw_it": ["power/tokens_per_s_per_mw_it"],
    "tokens_per_s_per_mw_facility": ["power/tokens_per_s_per_mw_facility"],
    "tokens_per_s_per_mw_provisioned": ["power/tokens_per_s_per_mw_provisioned"],
    "j_per_token": ["power/j_per_token"],
    "pue": ["power/pue"],
    "ttft_p50": ["serving/all/ttft_p50"],
    "ttft_p99": ["serving/all/ttft_p99"],
    "tpot_p50": ["serving/all/tpot_p50"],
    "tpot_p99": ["serving/all/tpot_p99"],
    "slo_attainment": ["serving/all/slo_attainment"],
    "cost_per_million_tokens": ["power/cost_per_million_tokens"],
    "facility_power_peak": ["power/facility_power_peak"],
}
# t_{0.975} by degrees of freedom (textbook values)
T975 = {1: 12.706204736174704, 2: 4.302652729911275, 3: 3.182446305284263,
        4: 2.7764451051977934}


def fail(msg):
    FAILS.append(msg)
    print("FAIL  " + msg)


def close(got, want, what, rel=1e-12):
    if want is None or (isinstance(want, float) and math.isnan(want)):
        if got not in (None, "") and not (isinstance(got, float) and math.isnan(got)):
            fail(f"{what}: got {got}, want nothing")
        return
    got = float(got)
    if not abs(got - want) <= rel * max(1.0, abs(want)):
        fail(f"{what}: got {got!r}, want {want!r}")


def summary(path, metric):
    with h5py.File(path, "r") as f:
        for p in PATHS[metric]:
            if "summary/" + p in f:
                return float(f["summary/" + p][()])
    return None


def compare_csv(csv_path, a, b):
    rows = list(csv.DictReader(open(csv_path)))
    seen = 0
    for r in rows:
        m = r["metric"]
        if m not in PATHS:
            continue
        va, vb = summary(a, m), summary(b, m)
        want = va if r["design"] == "A" else vb
        close(r["mean"], want, f"{m} {r['design']} mean")
        if r["design"] == "B":
            # the percentage difference, by hand
            pct = (vb - va) / abs(va) * 100 if va else None
            close(r["diff_pct"] if r["diff_pct"] else None, pct, f"{m} B diff_pct")
            seen += 1
    if seen < 10:
        fail(f"only {seen} metrics compared in {csv_path}")
    print(f"compare-csv: {seen} metrics of B against A checked")


def fmt_num(v):
    """compare's text format: 4 significant digits, no exponent above 1."""
    s = "%.4g" % v
    if "e" in s:
        s = "%.0f" % v if abs(v) >= 1 else "%.3e" % v
    return s


def compare_text(txt_path, a, b):
    """Spot checks of the printed table: tokens/s and TTFT p99 (in ms)."""
    text = open(txt_path).read()
    checks = [("tokens/s ", "tokens_per_s", 1.0), ("TTFT p99", "ttft_p99", 1e3),
              ("J per token", "j_per_token", 1.0)]
    for label, m, scale in checks:
        line = next((ln for ln in text.splitlines() if ln.startswith(label)), None)
        if line is None:
            fail(f"no line '{label}' in the table")
            continue
        va, vb = summary(a, m) * scale, summary(b, m) * scale
        pct = (vb - va) / abs(va) * 100
        want = [fmt_num(va), fmt_num(vb), "%+.1f %%" % (0.0 if abs(pct) < 0.05 else pct)]
        for w in want:
            if w not in line:
                fail(f"'{label}' line lacks {w!r}: {line!r}")
        print(f"compare-text: {label.strip()}: {' | '.join(want)} found")


def compare_reps(json_path, files):
    k = files.index("--")
    fa, fb = files[:k], files[k + 1:]
    out = json.load(open(json_path))
    by = {m["key"]: m for m in out["metrics"]}
    n = 0
    for m in ["tokens_per_s", "tokens_per_s_per_mw_it", "ttft_p99", "j_per_token"]:
        va = np.array([summary(f, m) for f in fa])
        vb = np.array([summary(f, m) for f in fb])
        vals = by[m]["values"]
        close(vals[0]["mean"], va.mean(), f"{m} A mean")
        close(vals[1]["mean"], vb.mean(), f"{m} B mean")
        ha = T975[len(va) - 1] * va.std(ddof=1) / math.sqrt(len(va))
        close(vals[0]["ci95_half"], ha, f"{m} A half width", 1e-9)
        # replications pair up by id (same order here): paired t interval
        d = vb - va
        half = T975[len(d) - 1] * d.std(ddof=1) / math.sqrt(len(d))
        if not vals[1]["paired"]:
            fail(f"{m}: B not paired with A")
        close(vals[1]["diff"], d.mean(), f"{m} mean difference", 1e-9)
        close(vals[1]["diff_ci95_lo"], d.mean() - half, f"{m} paired lo", 1e-9)
        close(vals[1]["diff_ci95_hi"], d.mean() + half, f"{m} paired hi", 1e-9)
        close(vals[1]["diff_pct"], (vb.mean() - va.mean()) / abs(va.mean()) * 100,
              f"{m} diff_pct", 1e-9)
        n += 1
    print(f"compare-reps: {n} metrics, means and paired intervals over {len(fa)} pairs checked")


def read_csv(path):
    with open(path, newline="") as f:
        r = csv.reader(f)
        head = next(r)
        rows = list(r)
    return head, rows


def num(s):
    return float(s) if s != "" else float("nan")


def same(a, b):
    return (math.isnan(a) and math.isnan(b)) or a == b


def export_run(d, path):
    with h5py.File(path, "r") as f:
        t = f["timeseries/time"][()]
        groups = {}

        def visit(name, obj):
            if isinstance(obj, h5py.Dataset) and name != "time":
                g = os.path.dirname(name)
                groups.setdefault(g, []).append(name)
        f["timeseries"].visititems(visit)
        for g, names in groups.items():
            head, rows = read_csv(os.path.join(d, f"timeseries_{g.replace('/', '_')}.csv"))
            want = ["time [s]"]
            cols = [t]
            for name in sorted(names):
                ds = f["timeseries/" + name]
                u = ds.attrs["units"]
                base = os.path.basename(name)
                if ds.ndim == 1:
                    want.append(f"{base} [{u}]")
                    cols.append(ds[()])
                else:
                    for j in range(ds.shape[1]):
                        want.append(f"{base}[{j}] [{u}]")
                        cols.append(ds[:, j])
            if head != want:
                fail(f"timeseries_{g}.csv header: {head[:6]}... want {want[:6]}...")
            if len(rows) != len(t):
                fail(f"timeseries_{g}.csv: {len(rows)} rows, want {len(t)}")
            bad = 0
            for i, row in enumerate(rows):
                for j, c in enumerate(cols):
                    if not same(num(row[j]), float(c[i])):
                        bad += 1
            if bad:
                fail(f"timeseries_{g}.csv: {bad} values differ from the HDF5")
            print(f"export: timeseries_{g}.csv {len(rows)} rows x {len(head)} columns match")
        # requests: every field, plus class_name
        rq = f["requests"][()]
        head, rows = read_csv(os.path.join(d, "requests.csv"))
        units = list(f["requests"].attrs["field_units"])
        names = list(rq.dtype.names)
        want = []
        for n_, u in zip(names, units):
            u = u.decode() if isinstance(u, bytes) else u
            want.append(f"{n_} [{u}]" if u else n_)
            if n_ == "class":
                want.append("class_name")
        if head != want:
            fail(f"requests.csv header {head} want {want}")
        if len(rows) != len(rq):
            fail(f"requests.csv: {len(rows)} rows, want {len(rq)}")
        classes = [c.decode() if isinstance(c, bytes) else c for c in f["requests"].attrs["classes"]]
        bad = 0
        for i in range(0, len(rq), max(1, len(rq) // 2000)):
            row, k = rows[i], 0
            for n_ in names:
                if not same(num(row[k]), float(rq[n_][i])):
                    bad += 1
                k += 1
                if n_ == "class":
                    if row[k] != classes[int(rq[n_][i])]:
                        bad += 1
                    k += 1
        if bad:
            fail(f"requests.csv: {bad} values differ")
        print(f"export: requests.csv {len(rows)} rows match")
        # summary: name,value,units,description
        head, rows = read_csv(os.path.join(d, "summary.csv"))
        if head != ["name", "value", "units", "description"]:
            fail(f"summary.csv header {head}")
        want = {}

        def vs(name, obj):
            if isinstance(obj, h5py.Dataset):
                want[name] = (float(obj[()]), obj.attrs["units"], obj.attrs["description"])
        f["summary"].visititems(vs)
        got = {r[0]: (num(r[1]), r[2], r[3]) for r in rows}
        if set(got) != set(want):
            fail(f"summary.csv names differ: {sorted(set(got) ^ set(want))[:5]}")
        for k, v in want.items():
            if k in got and (not same(got[k][0], v[0]) or got[k][1:] != v[1:]):
                fail(f"summary.csv {k}: {got[k]} want {v}")
        print(f"export: summary.csv {len(rows)} values match")
        head, rows = read_csv(os.path.join(d, "events.csv"))
        if head[:2] != ["time [s]", "kind"] or len(rows) != len(f["events"]):
            fail(f"events.csv: header {head}, {len(rows)} rows, want {len(f['events'])}")
        print(f"export: events.csv {len(rows)} rows")


def export_sweep(d, path):
    with h5py.File(path, "r") as f:
        t = f["sweep/table"]
        head, rows = read_csv(os.path.join(d, "sweep_table.csv"))
        if len(rows) != len(t):
            fail(f"sweep_table.csv: {len(rows)} rows, want {len(t)}")
        if "rack_level" not in head or "gpu_cap [1]" not in head:
            fail(f"sweep_table.csv header {head}")
        levels = list(t.attrs["levels.rack"])
        data = t[()]
        ki, kl = head.index("rack"), head.index("rack_level")
        km = head.index("tokens_per_mw_it [1/(s MW)]")
        ks = head.index("seed")
        for i, row in enumerate(rows):
            if row[kl] != levels[int(data["rack"][i])] or num(row[km]) != data["tokens_per_mw_it"][i] \
                    or int(row[ks]) != int(data["seed"][i]) or num(row[ki]) != data["rack"][i]:
                fail(f"sweep_table.csv row {i} differs: {row}")
                break
        head, rows = read_csv(os.path.join(d, "sweep_points.csv"))
        if len(rows) != len(f["sweep/points"]) or "tokens_per_mw_it.lo [1/(s MW)]" not in head:
            fail(f"sweep_points.csv: header {head[:8]}, {len(rows)} rows")
        print(f"export: sweep_table.csv {len(t)} rows and sweep_points.csv match")


def main():
    cmd = sys.argv[1]
    if cmd == "compare-csv":
        compare_csv(*sys.argv[2:5])
    elif cmd == "compare-text":
        compare_text(*sys.argv[2:5])
    elif cmd == "compare-reps":
        compare_reps(sys.argv[2], sys.argv[3:])
    elif cmd == "export":
        export_run(sys.argv[2], sys.argv[3])
    elif cmd == "export-sweep":
        export_sweep(sys.argv[2], sys.argv[3])
    else:
        sys.exit("unknown command " + cmd)
    sys.exit(1 if FAILS else 0)


if __name__ == "__main__":
    main()
