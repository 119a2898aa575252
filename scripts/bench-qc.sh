#!/usr/bin/env bash
# Benchmark: all quality-check rules (`cadastre check`) vs PostGIS doing only the overlap
# self-join on the same parcels, in the same run.
#
#   scripts/bench-qc.sh [N_PARCELS=100000]
#   REUSE=1 scripts/bench-qc.sh 1000000   # keep the generated data and the loaded table
#                                          # (only safe when both come from the same N)
#
# Generates a district with samples' `district-gen` (DEFECTS=100 injected defects by default;
# falls back to the qc_district example when the generator cannot be built),
# loads ZD.shp with shp2pgsql (GiST index, ANALYZE), times
#   SELECT count(*) FROM zd a JOIN zd b ON a.geom && b.geom AND a.gid < b.gid
#   WHERE ST_Overlaps(a.geom, b.geom)
# and `cadastre check DIR --json OUT` (load + all rules), both under /usr/bin/time -v
# (wall clock, peak RSS of our process). PostGIS runs in the server, so its peak RSS is
# not that of psql; we report wall time from psql's \timing instead.
set -euo pipefail
N=${1:-100000}
ROOT=$(cd "$(dirname "$0")/.." && pwd)
export CARGO_TARGET_DIR=${CARGO_TARGET_DIR:-$ROOT/target}
BASE_URL=${DATABASE_URL:-postgres://postgres@127.0.0.1:54329/cadastre}
SERVER_URL=${BASE_URL%/*}
DB=qc_bench
DATA=${BENCH_DIR:-/tmp/qc-bench-$N}
OUT=${BENCH_OUT:-/tmp/qc-bench-$N-out}
mkdir -p "$OUT"

cargo build --release -q -p cadastre-core --bin cadastre --example qc_district
cargo build --release -q -p cadastre-samples --bin district-gen || true
CADASTRE=$CARGO_TARGET_DIR/release/cadastre

if [ -n "${REUSE:-}" ] && [ -f "$DATA/ZD.shp" ]; then
  echo "== REUSE: keeping the district in $DATA"
else
echo "== generate $N parcels into $DATA"
rm -rf "$DATA"
if [ -x "$CARGO_TARGET_DIR/release/district-gen" ]; then
  "$CARGO_TARGET_DIR/release/district-gen" --parcels "$N" --seed 1 --defects "${DEFECTS:-100}" --quiet --out "$DATA"
else
  "$CARGO_TARGET_DIR/release/examples/qc_district" "$N" "$DATA"
fi
fi
ZD=$(ls "$DATA"/*.shp | grep -i '/zd\.shp$' | head -n1)

PG="$SERVER_URL/$DB"
if [ -n "${REUSE:-}" ] && [ "$(psql -At "$PG" -c "SELECT count(*) FROM zd" 2>/dev/null)" = "$N" ]; then
  echo "== REUSE: keeping table zd in database $DB"
else
echo "== load $ZD into PostGIS database $DB"
psql -q "$SERVER_URL/postgres" -c "DROP DATABASE IF EXISTS $DB" -c "CREATE DATABASE $DB"
psql -q "$PG" -c "CREATE EXTENSION postgis"
shp2pgsql -D -s 4549 -I -W GBK "$ZD" zd 2>/dev/null | psql -q "$PG" >/dev/null
psql -q "$PG" -c "VACUUM ANALYZE zd"
fi
psql -At "$PG" -c "SELECT 'parcels loaded: ' || count(*) FROM zd"

echo "== load average before: $(cut -d' ' -f1-3 /proc/loadavg) (2 cores are shared: compare CPU seconds too)"
echo "== PostGIS: overlap self-join only"
SQL="SELECT count(*) FROM zd a JOIN zd b ON a.geom && b.geom AND a.gid < b.gid WHERE ST_Overlaps(a.geom, b.geom)"
psql "$PG" -c "EXPLAIN $SQL" > "$OUT/pg-plan.txt"
START=$(date +%s.%N)
PG_PAIRS=$(psql -At "$PG" -c "$SQL")
PG_S=$(echo "$(date +%s.%N) - $START" | bc)
echo "PostGIS overlapping pairs: $PG_PAIRS in ${PG_S}s"

echo "== ours: cadastre check (load + all rules)"
set +e
CADASTRE_TIMING=1 /usr/bin/time -v "$CADASTRE" check "$DATA" --json "$OUT/report.json" > "$OUT/check.txt" 2> "$OUT/time.txt"
STATUS=$?
set -e
OUR_S=$(grep 'Elapsed (wall clock)' "$OUT/time.txt" | awk '{print $NF}')
RSS_KB=$(grep 'Maximum resident set size' "$OUT/time.txt" | awk '{print $NF}')
OUR_OVERLAPS=$(python3 -c "import json;print(json.load(open('$OUT/report.json'))['counts'].get('parcel.overlap',0))")
cat "$OUT/check.txt"
grep '^timing:' "$OUT/time.txt" || true
CPU_U=$(grep 'User time' "$OUT/time.txt" | awk '{print $NF}')
CPU_S=$(grep 'System time' "$OUT/time.txt" | awk '{print $NF}')
echo "ours: exit $STATUS, wall $OUR_S (h:mm:ss), user ${CPU_U}s, sys ${CPU_S}s, peak RSS $((RSS_KB / 1024)) MiB, parcel.overlap findings $OUR_OVERLAPS"
echo "== load average after: $(cut -d' ' -f1-3 /proc/loadavg)"
echo "PostGIS overlap self-join: ${PG_S}s, $PG_PAIRS pairs"
