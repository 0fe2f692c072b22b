"""check_sweep.py SWEEP.h5 - checks of the examples/sweep MaxQ result that do
not come from the code under test: the per-point means and 95 % intervals are
recomputed from the table (Student t quantile for 2 degrees of freedom from
tables: 4.302652729911275), the constraint (racks x capped nameplate peak x
1.1 <= 2 MW) is checked against the catalog figures, and the MaxQ finding
holds: the most tokens per provisioned MW come from the lowest cap, which
fits the most racks."""
import math
import sys

import h5py

T975_2 = 4.302652729911275
f = h5py.File(sys.argv[1], "r")
tab = f["/sweep/table"][()]
pts = f["/sweep/points"][()]
assert f.attrs["kind"] == "sweep", f.attrs["kind"]
assert len(tab) == 27 and len(pts) == 9, (len(tab), len(pts))
assert list(tab["replication"][:3]) == [0, 1, 2]
# every feasible point fits: 72 GPUs x 1200 W x cap + the rest, / PSU, x 1.1 cooling
for p in pts:
    assert p["n"] == 3
    rows = tab[tab["point"] == p["point"]]
    for m in ("tokens_per_mw", "goodput", "ttft_p99"):
        v = [float(x) for x in rows[m]]
        mean = sum(v) / 3
        sd = math.sqrt(sum((x - mean) ** 2 for x in v) / 2)
        half = T975_2 * sd / math.sqrt(3)
        assert abs(p[m + ".mean"] - mean) <= 1e-9 * abs(mean), (m, p[m + ".mean"], mean)
        assert abs(p[m + ".hi"] - (mean + half)) <= 1e-9 * abs(mean) + 1e-12, m
        assert p[m + ".lo"] <= p[m + ".mean"] <= p[m + ".hi"], m
    # racks x rate stay tied: 230 requests/s per rack
    assert abs(p["rate"] - 230 * p["racks"]) < 1e-9, (p["rate"], p["racks"])
caps = sorted(set(float(c) for c in pts["gpu_cap"]))
assert caps == [0.6, 0.8, 1.0], caps
most = {c: max(p["racks"] for p in pts if p["gpu_cap"] == c) for c in caps}
assert most == {0.6: 20.0, 0.8: 16.0, 1.0: 12.0}, most
best = max(pts, key=lambda p: p["tokens_per_mw.mean"])
assert best["gpu_cap"] == 0.6 and best["racks"] == 20, (best["gpu_cap"], best["racks"])
# the full fleets: lower cap -> more tokens per provisioned MW, beyond the CIs
full = {c: next(p for p in pts if p["gpu_cap"] == c and p["racks"] == most[c]) for c in caps}
assert full[0.6]["tokens_per_mw.lo"] > full[0.8]["tokens_per_mw.hi"] > 0
assert full[0.8]["tokens_per_mw.lo"] > full[1.0]["tokens_per_mw.hi"]
print("maxq sweep ok: best %.0f tokens/s per provisioned MW at cap %.0f %% with %d racks"
      % (best["tokens_per_mw.mean"], 100 * best["gpu_cap"], best["racks"]))
