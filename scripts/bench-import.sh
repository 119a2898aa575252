#!/usr/bin/env bash
# Benchmark: `tile-server import` (validation + versioned upsert + audit) of ZD.shp
# against shp2pgsql | psql and ogr2ogr loading the same file without validation,
# in the same run, each into a fresh database.
#
#   scripts/bench-import.sh [N_PARCELS=1000000]
#   BATCH=65536 scripts/bench-import.sh 100000
#
# Data: /tmp/qc-bench-N/ZD.shp when present (written by
# `district-gen --parcels N --seed 1 --defects 100`), else generated.
# Each command runs under /usr/bin/time -v: wall clock and peak RSS of the timed
# process tree (for the peers mostly psql/ogr2ogr; the server's memory is not counted
# for anyone). The load average is printed before each run: the machine is shared.
# What each loads:
#   shp2pgsql -D -s 4549 -W GBK ZD.shp | psql   plain table, no index, no checks
#   ogr2ogr -f PostgreSQL                        plain table + GiST index (driver default)
#   tile-server import ZD.shp                    QC per feature, PROJ when needed; a county's first
#                                                load of >= 100,000 parcels is COPYed into the
#                                                county's own table, its 7 indexes built at the end,
#                                                then attached as the county's partition of the
#                                                versioned `parcels` (CHECKs, version trigger), with
#                                                audit rows; NOBULK=1 adds a run of the ordinary
#                                                path (batches into `parcels`, indexes kept up row
#                                                by row)
set -euo pipefail
N=${1:-1000000}
ROOT=$(cd "$(dirname "$0")/.." && pwd)
export CARGO_TARGET_DIR=${CARGO_TARGET_DIR:-$ROOT/target}
BASE_URL=${DATABASE_URL:-postgres://postgres@127.0.0.1:54329/cadastre}
SERVER_URL=${BASE_URL%/*}
DATA=${BENCH_DIR:-/tmp/qc-bench-$N}
OUT=${BENCH_OUT:-/tmp/import-bench-$N-out}
BATCH=${BATCH:-65536}
mkdir -p "$OUT"
# The import names its operator in the audit log (required).
export CADASTRE_ACTOR="${CADASTRE_ACTOR:-bench-import}"

cargo build --release -q -p tile-server
TILE_SERVER=$CARGO_TARGET_DIR/release/tile-server
if [ ! -f "$DATA/ZD.shp" ]; then
  cargo build --release -q -p cadastre-samples --bin district-gen
  echo "== generate $N parcels into $DATA"
  "$CARGO_TARGET_DIR/release/district-gen" --parcels "$N" --seed 1 --defects 100 --quiet --out "$DATA"
fi
ZD="$DATA/ZD.shp"

fresh_db() {
  psql -q "$SERVER_URL/postgres" -c "DROP DATABASE IF EXISTS $1" -c "CREATE DATABASE $1"
}

timed() { # name, command...
  local name=$1
  shift
  echo "== $name  (load average: $(cut -d' ' -f1-3 /proc/loadavg))"
  local status=0
  /usr/bin/time -v -o "$OUT/$name.time" "$@" > "$OUT/$name.out" 2> "$OUT/$name.err" || status=$?
  local wall rss
  wall=$(grep 'Elapsed (wall clock)' "$OUT/$name.time" | sed 's/.*: //')
  rss=$(grep 'Maximum resident set size' "$OUT/$name.time" | sed 's/.*: //')
  echo "   wall $wall, peak RSS $((rss / 1024)) MiB, exit $status"
  printf '%s\t%s\t%s\t%s\t%s\n' "$name" "$wall" "$((rss / 1024))" "$status" "$(cut -d' ' -f1-3 /proc/loadavg)" >> "$OUT/results.tsv"
}

: > "$OUT/results.tsv"
fresh_db bench_shp2pgsql
psql -q "$SERVER_URL/bench_shp2pgsql" -c "CREATE EXTENSION postgis"
timed shp2pgsql sh -c "shp2pgsql -D -s 4549 -W GBK '$ZD' zd 2>/dev/null | psql -q '$SERVER_URL/bench_shp2pgsql' >/dev/null"
psql -At "$SERVER_URL/bench_shp2pgsql" -c "SELECT 'shp2pgsql rows: ' || count(*) FROM zd"

fresh_db bench_ogr2ogr
psql -q "$SERVER_URL/bench_ogr2ogr" -c "CREATE EXTENSION postgis"
timed ogr2ogr ogr2ogr -f PostgreSQL "PG:dbname=bench_ogr2ogr host=127.0.0.1 port=${SERVER_URL##*:} user=postgres" \
  "$ZD" -nln zd -oo ENCODING=GBK -a_srs EPSG:4549 -nlt PROMOTE_TO_MULTI --config PG_USE_COPY YES
psql -At "$SERVER_URL/bench_ogr2ogr" -c "SELECT 'ogr2ogr rows: ' || count(*) FROM zd"

fresh_db bench_import
# Migrations are not part of the import's time. --no-boundary-points: the peers load the
# polygons only, so the 界址点 derivation (a step of its own after the layers) is left out.
"$TILE_SERVER" --db "$SERVER_URL/bench_import" migrate > /dev/null
timed tile-server-import "$TILE_SERVER" --db "$SERVER_URL/bench_import" import "$ZD" --batch "$BATCH" \
  --rejects "$OUT/rejects.csv" --quiet --no-boundary-points
cat "$OUT/tile-server-import.out"
psql -At "$SERVER_URL/bench_import" -c "SELECT 'tile-server rows: ' || count(*) FROM parcels"

if [ -n "${NOBULK:-}" ]; then
  fresh_db bench_import
  "$TILE_SERVER" --db "$SERVER_URL/bench_import" migrate > /dev/null
  timed tile-server-import-no-bulk "$TILE_SERVER" --db "$SERVER_URL/bench_import" import "$ZD" --batch "$BATCH" \
    --rejects "$OUT/rejects.csv" --quiet --no-bulk --no-boundary-points
  psql -At "$SERVER_URL/bench_import" -c "SELECT 'tile-server --no-bulk rows: ' || count(*) FROM parcels"
fi

echo "== results ($OUT/results.tsv): name, wall, peak RSS MiB, exit, load average after"
column -t "$OUT/results.tsv"
