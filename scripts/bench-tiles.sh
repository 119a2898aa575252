#!/usr/bin/env bash
# Vector tiles: tile-server against martin 1.14 on the same PostGIS table, in one run.
#   scripts/bench-tiles.sh [N_PARCELS=1000000]
#   BENCH_DURATION=20s BENCH_CONNECTIONS=64 BENCH_KEEP=1 BENCH_REUSE_DB=1 BENCH_NO_BUILD=1 scripts/bench-tiles.sh
#
# 1. martin is installed into target/martin (cargo install martin@1.14.0 --locked
#    --no-default-features --features postgres); not part of CI.
# 2. district-gen writes an N-parcel district (target/bench-tiles/district), which
#    `tile-server import ZD.shp` loads into a fresh database (its bulk path; time printed).
# 3. Both servers serve the `parcels` table: martin from a config naming the table,
#    its SRID and the same four attributes ours carry (zddm, yt, zdmj, qllx); ours
#    its /tiles/parcels layer (current versions of the caller's county, Web Mercator copy).
# 4. The same list of z14-z18 tiles inside the district (SQL picks them with a fixed
#    seed) goes to both through wrk (BENCH_CONNECTIONS=64 connections, 2 threads), each
#    connection walking its own part of the list:
#      cold: martin with -C 0 (no cache), ours just restarted (cache empty); every
#            request asks for a tile not asked before in the run (checked: the run must
#            not reach the end of the list);
#      warm: a 2,000-tile working set, requested once by every server first, then
#            in a loop (martin with its default cache, ours with its own).
#    Runs alternate (cold: martin, ours, ours, martin; warm: martin, ours, martin,
#    ours) so load from other jobs on the machine, and the pages a first run reads,
#    favour neither. The parcels' pages are loaded into the OS cache first (pg_prewarm).
#    Ours runs as the application role cadastre_app (--no-migrate), as in production.
# 5. Burst: while ours serves the working set, 1,000 edits straight in the database (each a new
#    version of a parcel in the working set, moved 0.2 m, its own transaction); then
#    wrk -d1s slices on the working set while the edits commit and five after
#    them: p99 per second during and after the burst (ours
#    drops exactly the touched tiles; martin has no invalidation, so it is not run).
# BENCH_BASE_BIN=path/to/an/older/tile-server: its warm runs go between ours and
#    martin's (base-warm-N), for a before/after figure in the same run.
# Output: target/bench-tiles/*.txt and a summary table on stdout. A benchmark, never
# a test: it fails on nothing but errors. The generated district and the database are
# removed at the end unless BENCH_KEEP=1.
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
# Who runs the import, for the audit log (tile-server import and add-user need one).
export CADASTRE_ACTOR="${CADASTRE_ACTOR:-bench-tiles}"
cd "$ROOT"
N=${1:-1000000}
OUT="$ROOT/target/bench-tiles"
DATA="$OUT/district-$N"
DB=cadastre_bench_tiles
DURATION=${BENCH_DURATION:-20s}
CONNECTIONS=${BENCH_CONNECTIONS:-64}
OURS_PORT=${BENCH_OURS_PORT:-18090}
MARTIN_PORT=${BENCH_MARTIN_PORT:-18091}
MARTIN="$ROOT/target/martin/bin/martin"
BIN="${CARGO_TARGET_DIR:-$ROOT/target}/release"
mkdir -p "$OUT"

ensure_packages
command -v wrk >/dev/null || die "wrk not found: install the Debian package wrk"
pg_up
PIDS=()
cleanup() {
    for p in "${PIDS[@]}"; do kill "$p" 2>/dev/null || true; done
    if [ "${BENCH_KEEP:-0}" != 1 ]; then
        rm -rf "$DATA"
        psql -q -d postgres -c "DROP DATABASE IF EXISTS $DB" 2>/dev/null || true
    fi
    pg_down
}
trap cleanup EXIT

if [ ! -x "$MARTIN" ]; then
    say "installing martin 1.14.0 into target/martin (once)"
    cargo install martin@1.14.0 --locked --no-default-features --features postgres --root "$ROOT/target/martin" \
        --target-dir "$ROOT/target/martin/build" \
        || die "cargo install martin failed"
fi
# BENCH_NO_BUILD=1: use the release binary as it is (worktrees sharing a target
# directory's lock can wait long for a build that has nothing to do).
if [ "${BENCH_NO_BUILD:-0}" != 1 ] || [ ! -x "$BIN/tile-server" ]; then
    say "building the release server"
    cargo build --release --locked -q -p tile-server --bin tile-server
fi
if [ ! -f "$DATA/ZD.shp" ]; then
    cargo build --release --locked -q -p cadastre-samples --bin district-gen
    say "generating a $N-parcel district into $DATA"
    "$BIN/district-gen" --parcels "$N" --seed 1 --defects 0 --quiet --out "$DATA"
fi

URL="postgres://postgres@127.0.0.1:$PG_PORT/$DB"
# BENCH_REUSE_DB=1: keep a database an earlier run (with BENCH_KEEP=1) imported.
if [ "${BENCH_REUSE_DB:-0}" = 1 ] && psql -At -d "$DB" -c "SELECT count(*) FROM parcels" 2>/dev/null | grep -q "^$N$"; then
    say "reusing database $DB ($N parcels)"
    "$BIN/tile-server" --db "$URL" migrate >/dev/null
else
    say "fresh database $DB, importing the district"
    psql -q -d postgres -c "DROP DATABASE IF EXISTS $DB" -c "CREATE DATABASE $DB"
    psql -q -d "$DB" -c "CREATE EXTENSION postgis"
    start=$(date +%s)
    "$BIN/tile-server" --db "$URL" import "$DATA/ZD.shp" --quiet --rejects "$OUT/rejects.csv" >"$OUT/import.txt" || [ $? -le 1 ] \
        || die "import failed (see $OUT/import.txt)"
    echo "import of $N parcels: $(( $(date +%s) - start )) s" | tee -a "$OUT/import.txt"
fi
psql -q -d "$DB" -c "VACUUM ANALYZE"
# Both servers read the same pages: load the parcels' partitions and indexes into the
# OS page cache first, so the first cold run does not pay for the disk alone.
psql -q -d "$DB" -c "CREATE EXTENSION IF NOT EXISTS pg_prewarm"
say "prewarmed $(psql -At -d "$DB" <<'SQL'
WITH parts AS (SELECT inhrelid AS oid FROM pg_inherits WHERE inhparent = 'parcels'::regclass
               UNION SELECT 'parcels'::regclass::oid),
     rels AS (SELECT oid FROM parts UNION SELECT indexrelid FROM pg_index WHERE indrelid IN (SELECT oid FROM parts))
SELECT round(sum(pg_prewarm(r.oid, 'read')) * 8 / 1024.0) || ' MB of parcels' FROM rels r JOIN pg_class c ON c.oid = r.oid
WHERE c.relkind IN ('r', 'i')
SQL
)"
COUNTY=$(psql -At -d "$DB" -c "SELECT county FROM parcels LIMIT 1")

# The tile lists: every z14/z15 tile of the district, and random z16-z18 tiles
# holding at least one parcel centre (fixed seed).
say "choosing the tiles"
psql -At -d "$DB" >"$OUT/tiles-cold.txt" <<SQL
SELECT setseed(0.42);
WITH c AS (SELECT ST_PointOnSurface(geom_3857) AS p FROM parcels WHERE state = 'current' AND (hashtext(zddm) & 7) = 0),
     t AS (SELECT DISTINCT z,
                  floor((ST_X(p) + 20037508.342789244) / (40075016.68557849 / 2 ^ z))::int AS x,
                  floor((20037508.342789244 - ST_Y(p)) / (40075016.68557849 / 2 ^ z))::int AS y
           FROM c, generate_series(14, 18) AS z),
     ranked AS (SELECT z, x, y, row_number() OVER (PARTITION BY z ORDER BY md5(z || '/' || x || '/' || y)) AS r FROM t)
SELECT z || '/' || x || '/' || y FROM ranked
WHERE r <= CASE z WHEN 14 THEN 100000 WHEN 15 THEN 100000 WHEN 16 THEN 10000 WHEN 17 THEN 30000 ELSE 40000 END
ORDER BY md5(r || '-' || z);
SQL
sed -i '/^$/d;/^ *$/d' "$OUT/tiles-cold.txt"
head -n 2000 "$OUT/tiles-cold.txt" >"$OUT/tiles-warm.txt"
say "$(wc -l <"$OUT/tiles-cold.txt") cold tiles, 2000 warm tiles: $(cut -d/ -f1 "$OUT/tiles-cold.txt" | sort | uniq -c | tr '\n' ' ')"

# wrk script: each connection walks the list from its own offset; done() prints
# the requests made, the error count and the latency percentiles as one line.
cat >"$OUT/walk.lua" <<'LUA'
local list_file, prefix, suffix = os.getenv("TILES"), os.getenv("PREFIX"), os.getenv("SUFFIX") or ""
local tiles = {}
for line in io.lines(list_file) do tiles[#tiles + 1] = line end
local threads = {}
local counter = 0
function setup(thread)
  counter = counter + 1
  thread:set("id", counter)
  table.insert(threads, thread)
end
function init(args)
  local nthreads = tonumber(os.getenv("THREADS"))
  i = id - 1
  step = nthreads
  statuses = 0
  token = os.getenv("TOKEN")
  if token and token ~= "" then wrk.headers["Authorization"] = "Bearer " .. token end
end
function request()
  local t = tiles[(i % #tiles) + 1]
  i = i + step
  return wrk.format("GET", prefix .. t .. suffix)
end
function response(status, headers, body)
  if status ~= 200 and status ~= 204 then statuses = statuses + 1 end
end
function done(summary, latency, requests)
  local bad = 0
  for _, t in ipairs(threads) do bad = bad + (t:get("statuses") or 0) end
  io.write(string.format("RESULT requests=%d seconds=%.2f tiles_per_s=%.1f p50_ms=%.1f p99_ms=%.1f errors=%d bad_status=%d list=%d\n",
    summary.requests, summary.duration / 1e6, summary.requests / (summary.duration / 1e6),
    latency:percentile(50) / 1000, latency:percentile(99) / 1000,
    summary.errors.connect + summary.errors.read + summary.errors.write + summary.errors.timeout + summary.errors.status,
    bad, #tiles))
end
LUA

export CADASTRE_PII_KEY="$(head -c32 /dev/urandom | base64)"
cat >"$OUT/ours.toml" <<TOML
store_srid = 4549
default_rate_limit_per_minute = 1000000000
max_connections = ${BENCH_POOL:-10}
tile_cache_mb = 512
TOML
cat >"$OUT/martin.yaml" <<YAML
listen_addresses: "127.0.0.1:$MARTIN_PORT"
postgres:
  connection_string: "$URL"
  pool_size: ${BENCH_POOL:-10}
  auto_publish: false
  tables:
    parcels:
      schema: public
      table: parcels
      srid: 4549
      geometry_column: geom
      geometry_type: MULTIPOLYGON
      minzoom: 14
      maxzoom: 22
      extent: 4096
      buffer: 64
      clip_geom: true
      properties:
        zddm: bpchar
        yt: text
        zdmj: numeric
        qllx: text
YAML

# Ours serves as the application role, as in production (scripts/run.sh); martin as
# postgres (it needs no more than SELECT; the role changes nothing on the read path:
# no row-level security). The URL with the password goes through the environment.
APP_URL="$(app_db_url "$DB")"
start_ours() { # [binary]
    DATABASE_URL="$APP_URL" "${1:-$BIN/tile-server}" --config "$OUT/ours.toml" serve --no-migrate \
        --listen "127.0.0.1:$OURS_PORT" 2>>"$OUT/ours.log" &
    OURS_PID=$!
    PIDS+=("$OURS_PID")
    for _ in $(seq 1 300); do curl -fsS "http://127.0.0.1:$OURS_PORT/health" >/dev/null 2>&1 && return; sleep 0.2; done
    die "tile-server did not start (log: $OUT/ours.log)"
}
stop_ours() { kill "$OURS_PID" 2>/dev/null || true; wait "$OURS_PID" 2>/dev/null || true; }
start_martin() { # cache size in MB (0 = off)
    "$MARTIN" --config "$OUT/martin.yaml" -C "$1" 2>>"$OUT/martin.log" &
    MARTIN_PID=$!
    PIDS+=("$MARTIN_PID")
    for _ in $(seq 1 300); do curl -fsS "http://127.0.0.1:$MARTIN_PORT/health" >/dev/null 2>&1 && return; sleep 0.2; done
    die "martin did not start (log: $OUT/martin.log)"
}
stop_martin() { kill "$MARTIN_PID" 2>/dev/null || true; wait "$MARTIN_PID" 2>/dev/null || true; }

if ! psql -At -d "$DB" -c "SELECT 1 FROM users WHERE username = 'bench'" | grep -q 1; then
    TILE_SERVER_PASSWORD=Mercator-Tiles-2026-pw "$BIN/tile-server" --db "$URL" add-user bench --role reviewer --counties "$COUNTY" >/dev/null
fi
start_ours
TOKEN=$(curl -fsS -X POST -H 'Content-Type: application/json' -d '{"username":"bench","password":"Mercator-Tiles-2026-pw"}' \
    "http://127.0.0.1:$OURS_PORT/api/auth/login" | sed 's/.*"token":"\([^"]*\)".*/\1/')
[ -n "$TOKEN" ] || die "no token"
stop_ours

# run NAME LIST DURATION (ours|martin)
run() {
    local name=$1 list=$2 duration=$3 who=$4 base prefix suffix="" token=""
    if [ "$who" = ours ] || [ "$who" = base ]; then base="http://127.0.0.1:$OURS_PORT"; prefix="/tiles/parcels/"; suffix=".mvt"; token=$TOKEN
    else base="http://127.0.0.1:$MARTIN_PORT"; prefix="/parcels/"; fi
    # The server's CPU time per request (user + system ticks of its process): what
    # a tile costs it, whatever share of the shared cores it was given meanwhile.
    local pid=$MARTIN_PID; [ "$who" = martin ] || pid=$OURS_PID
    local t0; t0=$(cpu_ticks "$pid")
    {
        echo "# $(date -u +%FT%TZ) $name: load before $(cut -d' ' -f1-3 /proc/loadavg)"
        TILES=$list PREFIX=$prefix SUFFIX=$suffix TOKEN=$token THREADS=2 \
            wrk -t2 -c"$CONNECTIONS" -d"$duration" --latency -s "$OUT/walk.lua" "$base/"
    } >"$OUT/wrk-$name.txt" 2>&1
    local t1; t1=$(cpu_ticks "$pid")
    local line; line=$(grep '^RESULT' "$OUT/wrk-$name.txt" || echo "RESULT failed")
    local req; req=$(echo "$line" | sed -n 's/.*requests=\([0-9]*\).*/\1/p')
    local cpu=""
    [ -n "$req" ] && [ "$req" -gt 0 ] && cpu=" cpu_us_per_req=$(( (t1 - t0) * 1000000 / $(getconf CLK_TCK) / req ))"
    echo "$name $line$cpu" | tee -a "$OUT/results.txt"
}
cpu_ticks() { awk '{print $14 + $15}' "/proc/$1/stat" 2>/dev/null || echo 0; }
# Primes a cache: walks the list round and round for BENCH_PRIME (15 s: the 2,000
# tiles take a few seconds cold; wrk's thread:stop() does not end a run early).
prime() {
    TILES=$1 PREFIX=$3 SUFFIX=$4 TOKEN=$5 THREADS=2 wrk -t2 -c16 -d"${BENCH_PRIME:-15s}" -s "$OUT/walk.lua" "$2/" \
        >"$OUT/prime-$6.txt" 2>&1 || true
}

: >"$OUT/results.txt"
cold_martin() { start_martin 0; run "martin-cold-$1" "$OUT/tiles-cold.txt" "$DURATION" martin; stop_martin; }
cold_ours() { start_ours; run "ours-cold-$1" "$OUT/tiles-cold.txt" "$DURATION" ours; stop_ours; }
# Both walk the same list from its start: the second of a pair finds the pages the
# first read, so the order alternates (martin first, then ours first).
for round in 1 2; do
    say "round $round: cold"
    if [ "$round" = 1 ]; then cold_martin "$round"; cold_ours "$round"; else cold_ours "$round"; cold_martin "$round"; fi
done
for round in 1 2; do
    say "round $round: warm"
    start_martin 512
    prime "$OUT/tiles-warm.txt" "http://127.0.0.1:$MARTIN_PORT" /parcels/ "" "" "martin-$round"
    run "martin-warm-$round" "$OUT/tiles-warm.txt" "$DURATION" martin; stop_martin
    start_ours
    prime "$OUT/tiles-warm.txt" "http://127.0.0.1:$OURS_PORT" /tiles/parcels/ .mvt "$TOKEN" "ours-$round"
    run "ours-warm-$round" "$OUT/tiles-warm.txt" "$DURATION" ours
    [ "$round" = 2 ] || stop_ours
    if [ -n "${BENCH_BASE_BIN:-}" ]; then
        [ "$round" = 2 ] && stop_ours
        start_ours "$BENCH_BASE_BIN"
        prime "$OUT/tiles-warm.txt" "http://127.0.0.1:$OURS_PORT" /tiles/parcels/ .mvt "$TOKEN" "base-$round"
        run "base-warm-$round" "$OUT/tiles-warm.txt" "$DURATION" base
        stop_ours
        [ "$round" = 2 ] && start_ours && prime "$OUT/tiles-warm.txt" "http://127.0.0.1:$OURS_PORT" /tiles/parcels/ .mvt "$TOKEN" "ours-again"
    fi
done

say "burst: 1,000 edits in the working set, then p99 second by second"
psql -At -d "$DB" >"$OUT/burst.sql" <<SQL
WITH w AS (SELECT split_part(t, '/', 1)::int AS z, split_part(t, '/', 2)::int AS x, split_part(t, '/', 3)::int AS y
           FROM unnest(string_to_array('$(paste -sd, "$OUT/tiles-warm.txt")', ',')) AS t),
     p AS (SELECT DISTINCT ON (zddm) zddm FROM w JOIN parcels ON geom_3857 && ST_TileEnvelope(w.z, w.x, w.y)
           WHERE w.z = 18 AND state = 'current' ORDER BY zddm LIMIT 1000)
SELECT format('BEGIN; UPDATE parcels SET state = %L, valid_to = now() WHERE county = %L AND zddm = %L AND state = %L;'
              ' INSERT INTO parcels (county, zddm, zl, zdmj, yt, qllx, qlxz, geom) SELECT county, zddm, zl, zdmj, yt, qllx, qlxz,'
              ' ST_Translate(geom, 0.2, 0) FROM parcels WHERE county = %L AND zddm = %L AND state = %L'
              ' ORDER BY version_id DESC LIMIT 1; COMMIT;', 'historical', '$COUNTY', zddm, 'current', '$COUNTY', zddm, 'historical')
FROM p;
SQL
run "ours-before-burst" "$OUT/tiles-warm.txt" 5s ours
t0=$(date +%s.%N)
psql -q -d "$DB" -f "$OUT/burst.sql" >/dev/null &
BURST_PID=$!
# While the edits commit: one-second slices until psql is done.
s=0
while kill -0 "$BURST_PID" 2>/dev/null; do s=$((s + 1)); run "ours-during-burst-s$s" "$OUT/tiles-warm.txt" 1s ours; done
wait "$BURST_PID" || die "the burst failed"
t1=$(date +%s.%N)
echo "burst of $(grep -c COMMIT "$OUT/burst.sql") edits took $(echo "$t1 - $t0" | bc) s (1 s slices under load)" | tee -a "$OUT/results.txt"
for s in 1 2 3 4 5; do run "ours-after-burst-s$s" "$OUT/tiles-warm.txt" 1s ours; done
stop_ours

say "summary (target/bench-tiles/results.txt)"
cat "$OUT/results.txt"
