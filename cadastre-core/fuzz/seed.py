#!/usr/bin/env python3
"""Seeds for the fuzz targets: every .shp(+.dbf) pair of the peer conformance set and the
sample district, packed as [u32 LE shp length][shp][dbf]. Usage: seed.py OUT_DIR SEARCH_DIR..."""
import os, struct, sys

out = sys.argv[1]
os.makedirs(out, exist_ok=True)
n = 0
for root in sys.argv[2:]:
    for dirpath, _, files in os.walk(root):
        for f in files:
            if not f.lower().endswith(".shp"):
                continue
            shp = open(os.path.join(dirpath, f), "rb").read()
            if len(shp) > 200_000:
                continue  # libFuzzer works best on small inputs
            stem = f[:-4]
            dbf = b""
            for ext in (".dbf", ".DBF"):
                p = os.path.join(dirpath, stem + ext)
                if os.path.exists(p):
                    dbf = open(p, "rb").read()[:200_000]
            with open(os.path.join(out, f"seed-{n:04}"), "wb") as o:
                o.write(struct.pack("<I", len(shp)) + shp + dbf)
            n += 1
print(f"{n} seeds in {out}")
