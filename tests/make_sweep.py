#!/usr/bin/env python3
"""make_sweep.py OUT.h5 [--no-frontier] [--batch] - write a small sweep file by the layout of
docs/hdf5-layout.md ("Sweep files"), with made-up but plausible numbers, for the
tests of `factorysim report`, `export` and `compare` on sweeps.

Two parameters: a numeric GPU power cap (share of TDP, 4 levels) and a
string-valued rack type (2 levels, stored as indices into levels.rack), 3
replications of each of the 8 points, with common random numbers (replication r
has the same seed at every point).  --no-frontier leaves out the per-GPU and
per-user metrics, so the report must explain why it has no frontier chart.
--batch adds a third parameter, a batch size of 3 levels (24 points), so that
the combinations of the other parameters outnumber what a chart draws as lines
(the report falls back to the slice through the best point).
"""
import sys

import h5py
import numpy as np

T975_DF2 = 4.302652729911275  # Student t, 97.5 % quantile, 2 degrees of freedom


def main():
    out = sys.argv[1]
    frontier = "--no-frontier" not in sys.argv
    batches = [32, 64, 128] if "--batch" in sys.argv else [None]
    caps = [0.6, 0.7, 0.85, 1.0]
    racks = ["hgx-h100", "gb200-nvl72"]
    reps = 3
    rng = np.random.default_rng(7)

    params = ["gpu_cap", "rack"]
    keys = ["power.gpu_cap", "racks.0.type"]
    punits = ["1", ""]
    if batches[0] is not None:
        params.append("batch")
        keys.append("serving.pools.0.max_batch")
        punits.append("1")
    metrics = ["tokens_per_mw_it", "tokens_per_mw_facility", "tokens_per_mw_provisioned",
               "tokens_per_s", "serving.all.ttft_p99"]
    summaries = ["power/tokens_per_s_per_mw_it", "power/tokens_per_s_per_mw_facility",
                 "power/tokens_per_s_per_mw_provisioned", "power/tokens_per_s",
                 "serving/all/ttft_p99"]
    munits = ["1/(s MW)", "1/(s MW)", "1/(s MW)", "1/s", "s"]
    if frontier:
        metrics += ["tokens_per_s_per_gpu", "tokens_per_s_per_user"]
        summaries += ["serving/all/tokens_per_s_per_gpu", "serving/all/tokens_per_s_per_user"]
        munits += ["1/s", "1/s"]

    rows, points = [], []
    point = 0
    for r_i, _ in enumerate(racks):
        for cap in caps:
            for batch in batches:
                bf = 1.0 if batch is None else (batch / 64) ** 0.15
                pv = [cap, float(r_i)] + ([] if batch is None else [float(batch)])
                base_it = (180e3 if r_i == 0 else 260e3) * (1.25 - 0.4 * (cap - 0.6)) * bf
                vals = []
                for rep in range(reps):
                    noise = 1 + 0.02 * rng.standard_normal()
                    it = base_it * noise
                    fac = it / 1.18
                    prov = it * cap * 0.7
                    tok = it * 0.05 * (1 + r_i)
                    ttft = 0.35 / cap * (1 + 0.05 * rng.standard_normal())
                    m = [it, fac, prov, tok, ttft]
                    if frontier:
                        per_gpu = 900 * cap ** 0.3 * (1 + 0.6 * r_i) * noise * bf
                        per_user = 70 * cap * (1 - 0.25 * r_i) * (1 + 0.03 * rng.standard_normal()) / bf
                        m += [per_gpu, per_user]
                    vals.append(m)
                    rows.append((point, rep, 1000 + rep, *pv, *m))
                v = np.array(vals)
                mean = v.mean(axis=0)
                half = T975_DF2 * v.std(axis=0, ddof=1) / np.sqrt(reps)
                pr = [point, *pv, reps]
                for k in range(len(metrics)):
                    pr += [mean[k], mean[k] - half[k], mean[k] + half[k]]
                points.append(tuple(pr))
                point += 1

    tdt = np.dtype([("point", "<i8"), ("replication", "<i8"), ("seed", "<u8")] +
                   [(p, "<f8") for p in params] + [(m, "<f8") for m in metrics])
    pfields = [("point", "<i8")] + [(p, "<f8") for p in params] + [("n", "<i8")]
    for m in metrics:
        pfields += [(m + ".mean", "<f8"), (m + ".lo", "<f8"), (m + ".hi", "<f8")]
    pdt = np.dtype(pfields)
    s = h5py.string_dtype()
    with h5py.File(out, "w") as f:
        f.attrs["kind"] = "sweep"
        f.attrs["program"] = "factorysim"
        f.attrs["version"] = "0.1.0"
        f.attrs["scenario_name"] = "maxq-sweep-test"
        f.attrs["seed"] = np.uint64(1000)
        g = f.create_group("sweep")
        t = g.create_dataset("table", data=np.array(rows, dtype=tdt))
        t.attrs["units"] = "1"
        t.attrs["description"] = "one row per point x replication: parameters and metrics"
        t.attrs.create("parameters", params, dtype=s)
        t.attrs.create("parameter_keys", keys, dtype=s)
        t.attrs.create("parameter_units", punits, dtype=s)
        t.attrs.create("metrics", metrics, dtype=s)
        t.attrs.create("metric_units", munits, dtype=s)
        t.attrs.create("metric_summaries", summaries, dtype=s)
        t.attrs.create("levels.rack", racks, dtype=s)
        p = g.create_dataset("points", data=np.array(points, dtype=pdt))
        p.attrs["units"] = "1"
        p.attrs["description"] = "one row per point: mean and 95 % t interval of each metric"


if __name__ == "__main__":
    main()
