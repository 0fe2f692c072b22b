#!/usr/bin/env python3
"""hdf5_layout.py RUN.h5 - list every object of a run (or sweep) file as Markdown
tables: path, shape, type, units, description.  docs/hdf5-layout.md is made
from its output, so the document says what a real file holds:

    build/factorysim run examples/quickstart/quickstart.yaml -o /tmp/q.h5 --quiet
    /usr/bin/python3 tools/hdf5_layout.py /tmp/q.h5
"""
import sys

import h5py


def text(v):
    if isinstance(v, bytes):
        return v.decode()
    return str(v)


def kind(ds):
    dt = ds.dtype
    if dt.names:
        return "table"
    if dt.kind in "SO" or h5py.check_string_dtype(dt):
        return "string"
    return {"f": "float64" if dt.itemsize == 8 else "float", "i": "int", "u": "uint"}.get(dt.kind, str(dt))


def shape(ds):
    if ds.shape == ():
        return "scalar"
    s = " x ".join(str(n) for n in ds.shape)
    if ds.ndim == 2 and ds.name.startswith("/timeseries/"):
        s += " (time x column)"
    elif ds.ndim == 1 and ds.name.startswith("/timeseries/"):
        s += " (time)"
    return s


def esc(s):
    return s.replace("|", "\\|").replace("\n", " ")


def main():
    path = sys.argv[1]
    with h5py.File(path, "r") as f:
        print("| attribute | type | example |\n|---|---|---|")
        for k, v in f.attrs.items():
            print(f"| `{k}` | {type(v).__name__ if not hasattr(v, 'dtype') else v.dtype} | "
                  f"{esc(text(v))[:60]} |")
        groups = {}

        def visit(name, obj):
            if isinstance(obj, h5py.Dataset):
                top = "/" + name.split("/")[0] if "/" in name else "/"
                if name.startswith("timeseries/"):
                    parts = name.split("/")
                    top = "/" + "/".join(parts[:2]) if len(parts) > 2 else "/timeseries"
                if name.startswith("summary/"):
                    top = "/summary"
                groups.setdefault(top, []).append(obj)
        f.visititems(visit)
        for top in sorted(groups):
            print(f"\n#### `{top}`\n")
            print("| dataset | shape | type | units | description |\n|---|---|---|---|---|")
            for ds in groups[top]:
                u = text(ds.attrs.get("units", ""))
                d = text(ds.attrs.get("description", ""))
                print(f"| `{ds.name}` | {shape(ds)} | {kind(ds)} | {esc(u)} | {esc(d)} |")
            for ds in groups[top]:
                if not ds.dtype.names:
                    continue
                fu = [text(x) for x in ds.attrs.get("field_units", [])]
                fd = [text(x) for x in ds.attrs.get("field_descriptions", [])]
                print(f"\nFields of `{ds.name}`:\n\n| field | type | units | description |"
                      "\n|---|---|---|---|")
                for i, n in enumerate(ds.dtype.names):
                    t = ds.dtype.fields[n][0]
                    tt = "string" if t.kind == "S" else str(t)
                    print(f"| `{n}` | {tt} | {fu[i] if i < len(fu) else ''} | "
                          f"{esc(fd[i]) if i < len(fd) else ''} |")
                extra = [k for k in ds.attrs if k not in ("units", "description", "field_units",
                                                          "field_descriptions")]
                if extra:
                    print("\nOther attributes: " + ", ".join(f"`{k}`" for k in extra))

if __name__ == "__main__":
    main()
