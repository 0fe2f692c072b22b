#!/usr/bin/env python3
"""h5check.py RUN.h5 - check a factorysim run file the way a Python user reads it.

Opens the file with h5py (independently of the C code that wrote it), walks
every dataset and requires non-empty `units` and `description` attributes,
requires the root attributes of the layout in output/recorder.h with
complete == 1, and that /timeseries/time and every series line up in rows.
/requests must be an extendible, chunked compound table with field_units
(one per field) and classes attributes, and its class column must index
classes when classes are named.
Prints a short listing.  Exit status 0 when all holds, 1 otherwise.
"""
import sys

import h5py

ROOT_ATTRS = ("program", "version", "git_revision", "scenario_name", "scenario_file",
              "seed", "replication", "tick_s", "complete")


def text(v):
    """Attribute value as str, whether stored variable- or fixed-length."""
    if isinstance(v, bytes):
        return v.decode("utf-8")
    if hasattr(v, "tobytes") and getattr(v, "dtype", None) is not None and v.dtype.kind == "S":
        return v.tobytes().rstrip(b"\0").decode("utf-8")
    return str(v)


def check_requests(d):
    """Problems with the /requests table (a list of messages)."""
    out = []
    names = d.dtype.names or ()
    if not names:
        return ["/requests: not a compound table"]
    if d.chunks is None or d.maxshape[0] is not None:
        out.append("/requests: not chunked and extendible")
    for a in ("field_units", "classes"):
        if a not in d.attrs:
            out.append("/requests: no %s attribute" % a)
    if "field_units" in d.attrs:
        fu = [text(u) for u in d.attrs["field_units"]]
        if len(fu) != len(names) or not all(fu):
            out.append("/requests: field_units %r does not match fields %r" % (fu, names))
    if "classes" in d.attrs and "class" in names and d.shape[0] > 0:
        n = len(d.attrs["classes"])
        if n > 0:
            top = int(d.fields("class")[:].max())
            if top >= n:
                out.append("/requests: class index %d but %d classes named" % (top, n))
    return out


def main(argv):
    if len(argv) != 2:
        print("usage: h5check.py RUN.h5", file=sys.stderr)
        return 2
    problems = []
    with h5py.File(argv[1], "r") as f:
        for a in ROOT_ATTRS:
            if a not in f.attrs:
                problems.append("/: missing root attribute %s" % a)
        if f.attrs.get("complete", 0) != 1:
            problems.append("/: complete = %r, expected 1" % f.attrs.get("complete"))
        if "program" in f.attrs and text(f.attrs["program"]) != "factorysim":
            problems.append("/: program = %r" % text(f.attrs["program"]))
        for g in ("scenario", "timeseries", "summary"):
            if g not in f:
                problems.append("/%s: missing group" % g)
        if "timeseries/time" not in f:
            problems.append("/timeseries/time: missing")

        rows = f["timeseries/time"].shape[0] if "timeseries/time" in f else None
        datasets = []
        f.visititems(lambda name, obj: datasets.append((name, obj))
                     if isinstance(obj, h5py.Dataset) else None)
        print("%s: %d datasets, %s rows, seed %s, replication %s, version %s" % (
            argv[1], len(datasets), rows, f.attrs.get("seed"), f.attrs.get("replication"),
            text(f.attrs.get("version", "?"))))
        for name, d in datasets:
            units = text(d.attrs["units"]) if "units" in d.attrs else ""
            desc = text(d.attrs["description"]) if "description" in d.attrs else ""
            if not units:
                problems.append("/%s: no units attribute" % name)
            if not desc:
                problems.append("/%s: no description attribute" % name)
            if name.startswith("timeseries/"):
                if d.chunks is None:
                    problems.append("/%s: not chunked" % name)
                if d.maxshape[0] is not None:
                    problems.append("/%s: first dimension is not extendible" % name)
                if rows is not None and d.shape[0] != rows:
                    problems.append("/%s: %d rows, time has %d" % (name, d.shape[0], rows))
            print("  /%-40s %-14s %-10s %s" % (name, str(d.shape), units[:10], desc[:60]))
        if "requests" not in f:
            problems.append("/requests: missing")
        else:
            problems += check_requests(f["requests"])
    for p in problems:
        print("h5check: " + p, file=sys.stderr)
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
