#!/usr/bin/env python3
"""read_results.py - read a factorysim run file (and optionally a sweep file)
with h5py and pandas, print a few numbers, and plot site power with
matplotlib into a PNG.

    python3 examples/python/read_results.py RUN.h5 [--sweep SWEEP.h5] [-o power.png]

Every dataset carries `units` and `description` attributes; the layout is in
docs/hdf5-layout.md.  Needs python3-h5py, python3-pandas, python3-matplotlib.
"""
import argparse

import h5py
import matplotlib

matplotlib.use("Agg")  # no display needed: write a file
import matplotlib.pyplot as plt  # noqa: E402
import pandas as pd  # noqa: E402


def text(v):
    return v.decode() if isinstance(v, bytes) else str(v)


def series_frame(f, group):
    """A group of /timeseries as a DataFrame indexed by time [s]; columns "name [units]"."""
    cols = {}
    for name, ds in f["timeseries/" + group].items():
        if isinstance(ds, h5py.Dataset) and ds.ndim == 1:
            cols[f"{name} [{text(ds.attrs['units'])}]"] = ds[()]
    return pd.DataFrame(cols, index=pd.Index(f["timeseries/time"][()], name="time [s]"))


def summary(f):
    """/summary as a DataFrame: name -> value, units, description."""
    rows = []

    def visit(name, obj):
        if isinstance(obj, h5py.Dataset):
            rows.append((name, float(obj[()]), text(obj.attrs["units"]),
                         text(obj.attrs["description"])))
    f["summary"].visititems(visit)
    return pd.DataFrame(rows, columns=["name", "value", "units", "description"]).set_index("name")


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("run")
    ap.add_argument("--sweep")
    ap.add_argument("-o", "--output", default="power.png")
    a = ap.parse_args()

    with h5py.File(a.run, "r") as f:
        print(f"scenario {text(f.attrs['scenario_name'])}, seed {int(f.attrs['seed'])}, "
              f"replication {int(f.attrs['replication'])}")
        s = summary(f)
        for k in ["power/tokens_per_s_per_mw_it", "power/pue", "serving/all/ttft_p99"]:
            if k in s.index:
                print(f"  {k} = {s.loc[k, 'value']:.6g} {s.loc[k, 'units']}")
        site = series_frame(f, "site")
        # the request table: one row per request, times in s
        rq = pd.DataFrame(f["requests"][()])
        classes = [text(c) for c in f["requests"].attrs["classes"]]
        rq["class_name"] = [classes[c] for c in rq["class"]]
        rq["ttft"] = rq["first_token"] - rq["arrival"]
        print(rq.groupby("class_name")["ttft"].quantile(0.99).rename("TTFT p99 [s]").to_string())

    if a.sweep:
        with h5py.File(a.sweep, "r") as f:
            pts = pd.DataFrame(f["sweep/points"][()])
            t = f["sweep/table"]
            for p in t.attrs["parameters"]:
                p = text(p)
                if f"levels.{p}" in t.attrs:  # string-valued: indices into the levels
                    levels = [text(x) for x in t.attrs[f"levels.{p}"]]
                    pts[p] = [levels[int(i)] for i in pts[p]]
            print(f"sweep: {len(pts)} points")
            m = text(t.attrs["metrics"][0])
            cols = ["point"] + [text(p) for p in t.attrs["parameters"]] + \
                ["n", m + ".mean", m + ".lo", m + ".hi"]
            best = pts.sort_values(m + ".mean", ascending=False).head(3)
            print(f"best by {m} (mean and 95 % interval over replications):")
            print(best[cols].to_string(index=False))

    fig, ax = plt.subplots(figsize=(9, 4))
    hours = site.index / 3600
    for col in ["it_power [W]", "facility_power [W]", "budget [W]"]:
        if col in site:
            ax.plot(hours, site[col] / 1e6, label=col.split(" ")[0].replace("_", " "))
    ax.set_xlabel("simulated time [h]")
    ax.set_ylabel("power [MW]")
    ax.set_ylim(bottom=0)
    ax.legend()
    ax.set_title("site power")
    fig.tight_layout()
    fig.savefig(a.output, dpi=100)
    print(f"wrote {a.output}")


if __name__ == "__main__":
    main()
