#!/bin/sh
# run.sh [BIN] - the MaxQ sweep: for each per-GPU cap, fill the 2 MW site with
# as many GB200 NVL72 racks as fit at their capped nameplate peak, find the
# highest request rate served within the SLOs (99 % of requests), and report
# goodput tokens per second per provisioned MW.  Takes a few minutes.
BIN=${1:-build/factorysim}
cd "$(dirname "$0")/../.." || exit 1
exec python3 - "$BIN" <<'PY'
import json, math, subprocess, sys

BIN = sys.argv[1]
BUDGET = 2e6            # site.power_budget
COOL = 0.10             # site.cooling_overhead
CHAIN = 0.03            # allowance for chain losses at full load
# the rack's nameplate figures, from `factorysim catalog racks` / `gpus`
rack = next(l.split() for l in subprocess.run([BIN, "catalog", "racks"], capture_output=True,
            text=True, check=True).stdout.splitlines() if l.startswith("gb200-nvl72"))
gpu_kw, other_kw, psu = float(rack[6]), float(rack[7]), float(rack[9]) / 100  # "72 x gb200" is 3 fields

def peak_w(cap):
    """A rack's provisioning basis at a cap: GPUs at the cap, the rest at nameplate."""
    return (gpu_kw * cap + other_kw) * 1e3 / psu * (1 + COOL) * (1 + CHAIN)

def run(cap, racks, rate):
    out = subprocess.run([BIN, "run", "examples/maxq/maxq-base.yaml", "-o", "/tmp/maxq.h5",
                          "--quiet", "--summary", "json",
                          "--set", f"power.gpu_cap={cap * 100:g}%",
                          "--set", f"racks.0.count={racks}",
                          "--set", f"workload.0.arrival.rate={rate:g}/s"],
                         capture_output=True, text=True, check=True).stdout
    return json.loads(out)

print(f"{'cap':>5} {'racks':>5} {'GPUs':>5} {'rate/s':>7} {'goodput tok/s':>14} "
      f"{'tok/s per MW prov':>18} {'tok/s per MW fac':>17} {'facility MW':>12} {'TPOT p50':>9}")
best = None
for cap in (1.0, 0.9, 0.8, 0.7, 0.6, 0.5, 0.4, 0.3):
    racks = int(BUDGET // peak_w(cap))
    lo, hi, good = 0.0, 400.0 * racks, None     # requests/s, bisection on the SLO
    for _ in range(7):
        mid = (lo + hi) / 2
        d = run(cap, racks, mid)
        if d["serving"]["overall"]["slo_attainment"] >= 0.99:
            lo, good = mid, d
        else:
            hi = mid
    if good is None:
        print(f"{cap:5.0%} {racks:5d}  no rate meets the SLOs")
        continue
    o, p = good["serving"]["overall"], good["power"]
    per_mw = o["goodput_tokens_per_s"] / (BUDGET / 1e6)
    print(f"{cap:5.0%} {racks:5d} {good['serving']['gpus']:5d} {lo:7.0f} "
          f"{o['goodput_tokens_per_s']:14.0f} {per_mw:18.0f} "
          f"{o['goodput_tokens_per_s'] / (p['facility_power_mean_w'] / 1e6):17.0f} "
          f"{p['facility_power_mean_w'] / 1e6:12.3f} {o['tpot_p50_s'] * 1e3:7.1f} ms")
    if best is None or per_mw > best[1]:
        best = (cap, per_mw)
print(f"best cap: {best[0]:.0%} of TDP ({best[1]:.0f} goodput tokens/s per provisioned MW)")
PY
