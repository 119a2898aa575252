#!/usr/bin/env bash
# Benchmark of the reviewers' workflow: a result package of 5,000 changed parcels in a
# county of 1,000,000, handed in to the release server:
#   scripts/bench-review.sh [N_PARCELS=1000000] [CHANGED=5000]
# Measures the time from upload to `ready` (intake, background check, diff against the
# store), the accept transaction (codes, versions, audit rows), and the latency of other
# API calls (GET /api/parcels/{code}) meanwhile, against the same calls on an idle server.
# Generated data (district, package, database) is deleted at the end, unless KEEP_DATA=1:
# then the district (BENCH_DIR) and the imported database (as a template,
# cadastre_bench_review_base_N) stay, and the next run with KEEP_DATA=1 copies the template
# instead of importing again (each run starts from the same store).
# Output: target/bench-review/*.txt, with the server's per-phase timings (phases.txt), the
# CPU seconds of the server process and of PostgreSQL, and the load average beside each
# figure. A benchmark, not a test: it never fails on timings.
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
# Who runs the import, for the audit log (tile-server import and add-user need one).
export CADASTRE_ACTOR="${CADASTRE_ACTOR:-bench-review}"
cd "$ROOT"
BIN="${CARGO_TARGET_DIR:-$ROOT/target}/release"
source "$ROOT/scripts/api-lib.sh"

N=${1:-1000000}
CHANGED=${2:-5000}
DB="cadastre_bench_review"
BASE_DB="cadastre_bench_review_base_$N"
OUT="$ROOT/target/bench-review"
DATA="${BENCH_DIR:-/tmp/review-bench-$N}"
PKG_DIR="$OUT/package"
mkdir -p "$OUT"

ensure_packages
command -v wrk >/dev/null || die "wrk not found: install the Debian package wrk"
pg_up
cleanup() {
    stop_server
    [ -n "${WRK_PID:-}" ] && kill "$WRK_PID" 2>/dev/null
    psql -q -d postgres -c "DROP DATABASE IF EXISTS \"$DB\" WITH (FORCE)" >/dev/null 2>&1 || true
    if [ -z "${KEEP_DATA:-}" ]; then
        psql -q -d postgres -c "DROP DATABASE IF EXISTS \"$BASE_DB\" WITH (FORCE)" >/dev/null 2>&1 || true
        rm -rf "$DATA" "$PKG_DIR" "$OUT/package.zip"
    fi
    pg_down
}
trap cleanup EXIT

say "building the release tools"
# One cargo call: separate `-p` calls unify features differently and rebuild shared crates.
cargo build --release --locked -q -p tile-server --bin tile-server -p cadastre-core --bin cadastre \
    -p cadastre-samples --bin district-gen

if [ ! -f "$DATA/ZD.shp" ]; then
    say "generating a district of $N parcels in $DATA"
    "$BIN/district-gen" --parcels "$N" --seed 1 --quiet --out "$DATA"
fi
# CPU ticks (user + system) PostgreSQL's processes used so far: the postmaster's own and its
# exited children's, plus the live backends'. Bash builtins only: these are read inside the
# measured windows, and 25 awk and pgrep processes there cost tens of ms of CPU.
CLK_TCK="$(getconf CLK_TCK)"
stat_ticks() { # FILE [CHILDREN]: utime + stime (+ cutime + cstime when CHILDREN is set)
    local line f
    read -r line <"$1" 2>/dev/null || { echo 0; return; }
    read -ra f <<<"${line##*) }"
    echo $((f[11] + f[12] + ${2:+f[13] + f[14] + }0))
}
pg_cpu() {
    local pm kids c t
    read -r pm <"$PG_DIR/data/postmaster.pid"
    t="$(stat_ticks "/proc/$pm/stat" children)"
    # One line of pids with no newline at its end: read fails at the end but sets kids.
    kids=""; read -r kids <"/proc/$pm/task/$pm/children" 2>/dev/null || true
    for c in $kids; do t=$((t + $(stat_ticks "/proc/$c/stat"))); done
    echo "$t"
}
# CPU ticks the server process used so far.
server_cpu() { stat_ticks "/proc/$SERVER_PID/stat"; }
load() { local a b c _; read -r a b c _ </proc/loadavg; echo "$a $b $c"; }

if [ -n "${KEEP_DATA:-}" ] && [ "$(psql -d postgres -tAc "SELECT 1 FROM pg_database WHERE datname = '$BASE_DB'")" = 1 ]; then
    say "fresh database $DB: a copy of $BASE_DB (imported by an earlier run)"
    psql -q -d postgres -c "DROP DATABASE IF EXISTS \"$DB\" WITH (FORCE)" >/dev/null
    psql -q -d postgres -c "CREATE DATABASE \"$DB\" TEMPLATE \"$BASE_DB\"" >/dev/null
else
    say "fresh database $DB: importing the district"
    fresh_db "$DB"
    /usr/bin/time -f "import: %e s wall, %M KiB peak" "$BIN/tile-server" --db "postgres://postgres@127.0.0.1:$PG_PORT/$DB" \
        import "$DATA" --rejects "$OUT/import-rejects.csv" --quiet >"$OUT/import.txt" 2>&1 || true
    psql -d "$DB" -tAc "SELECT count(*) || ' current parcels' FROM parcels WHERE state = 'current'" | tee -a "$OUT/import.txt"
    psql -q -d "$DB" -c "VACUUM ANALYZE" >/dev/null
    if [ -n "${KEEP_DATA:-}" ]; then
        psql -q -d postgres -c "DROP DATABASE IF EXISTS \"$BASE_DB\" WITH (FORCE)" >/dev/null
        psql -q -d postgres -c "CREATE DATABASE \"$BASE_DB\" TEMPLATE \"$DB\"" >/dev/null
    fi
fi

say "the package: $CHANGED parcels of the district with a new address (坐落), as a surveyor's change survey"
rm -rf "$PKG_DIR" && mkdir -p "$PKG_DIR"
ogr2ogr -f "ESRI Shapefile" -lco ENCODING=UTF-8 "$PKG_DIR/ZD.shp" "$DATA/ZD.shp" -dialect SQLite \
    -sql "SELECT ZDDM, BDCDYH, ZDTZM, ZL || '（变更）' AS ZL, ZDMJ, YT, QLLX, QLXZ, DJZQDM, geometry FROM ZD LIMIT $CHANGED"
# Their buildings, unchanged (a package that carries a parcel without its buildings removes
# them): every building in the package's extent; those of parcels it does not carry compare
# unchanged. (A SQLite-dialect `IN (SELECT ... LIMIT)` here took more than 5 minutes.)
read -r XMIN XMAX YMIN YMAX < <(ogrinfo -so -al "$PKG_DIR/ZD.shp" | sed -n 's/^Extent: (\([0-9.]*\), \([0-9.]*\)) - (\([0-9.]*\), \([0-9.]*\))/\1 \3 \2 \4/p')
ogr2ogr -f "ESRI Shapefile" -lco ENCODING=UTF-8 -spat "$XMIN" "$YMIN" "$XMAX" "$YMAX" "$PKG_DIR/ZRZ.shp" "$DATA/ZRZ.shp"
printf 'county = "330106"\nproject = "性能测试 %s 宗地变更"\nbusiness_kind = "变更"\n' "$CHANGED" >"$PKG_DIR/manifest.toml"
"$BIN/cadastre" package build "$PKG_DIR" --out "$OUT/package.zip"
ls -l "$OUT/package.zip" | tee "$OUT/package.txt"

cat >"$OUT/server.toml" <<TOML
store_srid = 4549
default_rate_limit_per_minute = 1000000000
review_workers = 1
TOML
RUST_LOG="${RUST_LOG:-warn,tile_server::review=info}" start_server "$DB" "$OUT/server.toml"
SURVEYOR="$(user_token bench-surveyor surveyor 330106)"
REVIEWER="$(user_token bench-reviewer reviewer 330106)"
READER="$(user_token bench-reader reviewer 330106)"
PROBE="$SERVER_URL/api/parcels/$(psql -d "$DB" -tAc "SELECT zddm FROM parcels WHERE state = 'current' ORDER BY zddm DESC LIMIT 1")"

# PACE_MS=N: each of wrk's 16 connections waits N ms before each request (a steady load
# below what the machine can answer); unset, wrk sends as fast as answers come (saturation).
PACED=()
if [ -n "${PACE_MS:-}" ]; then
    PACED=(-s "$ROOT/scripts/wrk-paced.lua")
    export WRK_PACE_MS="$PACE_MS"
    say "paced load: each connection waits $PACE_MS ms before each request"
fi
say "other API calls on the idle server (15 s)"
wrk -t2 -c16 -d15s --latency "${PACED[@]}" -H "Authorization: Bearer $READER" "$PROBE" >"$OUT/idle.txt"
echo "load average at the end: $(load)" >>"$OUT/idle.txt"
grep -E "Latency|99%|Requests/sec|load average" "$OUT/idle.txt"

say "hand-in to ready, then accept, with the same calls running"
# Each phase's effect on the other calls is measured in a window of its own: wrk runs from
# just before the hand-in until `ready` (busy-check.txt), then from just before the accept
# until its answer (busy-accept.txt). SIGINT makes wrk print what it measured so far.
busy_start() {
    wrk -t2 -c16 -d300s --latency "${PACED[@]}" -H "Authorization: Bearer $READER" "$PROBE" >"$OUT/busy-$1.txt" &
    WRK_PID=$!
    sleep 0.5
}
busy_stop() {
    kill -INT "$WRK_PID" 2>/dev/null; wait "$WRK_PID" 2>/dev/null || true; WRK_PID=""
}
# The same short window with nothing else running: wrk's start (16 connections opened at
# once) weighs more in a 1-2 s window than in the 15 s one above, so compare with this.
rm -f "$OUT"/busy-*.txt
busy_start idle-window
sleep 1.5
busy_stop
# The clients of the review (hand-in, status polling, accept) run at SCHED_IDLE: in use they
# are browsers on other machines, and here each curl's start-up (3 ms of CPU) would take a
# core from the calls being measured. wrk keeps normal priority: it is what measures.
IDLE=()
if chrt --idle 0 true 2>/dev/null; then IDLE=(chrt --idle 0); fi
# CONTROL=1: the same window beside one, then two, CPU-bound loops at SCHED_IDLE, the lowest
# priority there is (a waking task preempts it at once): the floor a background job can reach.
if [ -n "${CONTROL:-}" ] && [ "${#IDLE[@]}" = 0 ]; then
    echo "CONTROL skipped: this user may not run a process under SCHED_IDLE (chrt --idle)"
elif [ -n "${CONTROL:-}" ]; then
    for loops in 1 2; do
        busy_start "control-$loops"
        hogs=()
        for _ in $(seq "$loops"); do "${IDLE[@]}" bash -c 'while :; do :; done' & hogs+=($!); done
        sleep 1.5
        kill "${hogs[@]}"; wait "${hogs[@]}" 2>/dev/null || true
        busy_stop
        echo "while $loops busy loop(s) run at SCHED_IDLE:"; grep -E "99%|Requests/sec" "$OUT/busy-control-$loops.txt"
    done
fi
busy_start check
load0="$(load)"; cpu0="$(server_cpu)"; pg0="$(pg_cpu)"
t0=$EPOCHREALTIME
answer="$("${IDLE[@]}" curl -fsS -H "Authorization: Bearer $SURVEYOR" -H 'Content-Type: application/zip' \
    --data-binary "@$OUT/package.zip" "$SERVER_URL/api/submissions")" || die "hand-in refused"
t_upload=$EPOCHREALTIME
# Fields are picked out with bash's own regex, not python: a python start-up costs 30-50 ms
# of CPU, and ten of them a second while polling took CPU from the calls being measured.
json_field() { # NAME JSON: the value of the first "NAME": number or string
    [[ $2 =~ \"$1\":\ *\"?([A-Za-z0-9_]+) ]] && printf '%s' "${BASH_REMATCH[1]}"
}
ID="$(json_field submission_id "$answer")"
while :; do
    status="$(json_field status "$("${IDLE[@]}" curl -fsS -H "Authorization: Bearer $REVIEWER" "$SERVER_URL/api/submissions/$ID")")"
    [ "$status" = checking ] || break
    sleep 0.1
done
t_ready=$EPOCHREALTIME
load1="$(load)"; cpu1="$(server_cpu)"; pg1="$(pg_cpu)"
busy_stop
[ "$status" = ready ] || die "submission $ID is $status"
busy_start accept
t_accept0=$EPOCHREALTIME
"${IDLE[@]}" curl -fsS -o "$OUT/accept.json" -w 'accept HTTP %{http_code}\n' -H "Authorization: Bearer $REVIEWER" \
    -H 'Content-Type: application/json' -d '{"decision": "accept", "override_reason": "benchmark"}' \
    "$SERVER_URL/api/submissions/$ID/decision" | tee "$OUT/accept-status.txt"
t_accept=$EPOCHREALTIME
load2="$(load)"; cpu2="$(server_cpu)"; pg2="$(pg_cpu)"
busy_stop
{
    printf 'upload (intake: unzip, digests, stored): %.2f s\n' "$(awk "BEGIN { print $t_upload - $t0 }")"
    printf 'upload to ready (check + diff):          %.2f s\n' "$(awk "BEGIN { print $t_ready - $t0 }")"
    printf 'accept transaction (HTTP round trip):    %.2f s\n' "$(awk "BEGIN { print $t_accept - $t_accept0 }")"
    printf 'CPU to ready: server %.2f s, PostgreSQL %.2f s; accept: server %.2f s, PostgreSQL %.2f s\n' \
        "$(awk "BEGIN { print ($cpu1 - $cpu0) / $CLK_TCK }")" "$(awk "BEGIN { print ($pg1 - $pg0) / $CLK_TCK }")" \
        "$(awk "BEGIN { print ($cpu2 - $cpu1) / $CLK_TCK }")" "$(awk "BEGIN { print ($pg2 - $pg1) / $CLK_TCK }")"
    printf 'load average (1, 5, 15 min): before %s; at ready %s; after accept %s\n' "$load0" "$load1" "$load2"
    psql -d "$DB" -tAc "SELECT 'findings ' || findings_count || ', verdict ' || verdict || ', changed parcels in the diff ' ||
        jsonb_array_length(diff->'parcels'->'changed') FROM submission_versions WHERE submission_id = $ID"
    psql -d "$DB" -tAc "SELECT 'stored: report ' || pg_column_size(report) / 1024 || ' KiB (' || octet_length(report::text) / 1024 ||
        ' KiB as text), diff ' || pg_column_size(diff) / 1024 || ' KiB (' || octet_length(diff::text) / 1024 || ' KiB), HTML report ' ||
        pg_column_size(report_html) / 1024 || ' KiB (' || octet_length(report_html) / 1024 || ' KiB)' FROM submission_versions WHERE submission_id = $ID"
    psql -d "$DB" -tAc "SELECT count(*) || ' parcel versions closed' FROM parcels WHERE state = 'historical'"
    psql -d "$DB" -tAc "SELECT count(*) || ' building versions closed' FROM buildings WHERE state = 'historical'"
} | tee "$OUT/times.txt"
for phase in idle-window check accept; do
    echo "while the $phase runs:"; grep -E "Latency|99%|Requests/sec" "$OUT/busy-$phase.txt"
done
# wrk's p99 in ms (it prints us, ms or s).
p99_ms() {
    awk '$1 == "99%" { v = $2; u = v; sub(/[0-9.]+/, "", u); sub(/[a-z]+$/, "", v);
        printf "%.3f", v * (u == "us" ? 0.001 : (u == "s" ? 1000 : 1)) }' "$1"
}
{
    base="$(p99_ms "$OUT/busy-idle-window.txt")"
    for window in check accept control-1 control-2; do
        f="$OUT/busy-$window.txt"
        [ -f "$f" ] || continue
        awk -v w="$window" -v p="$(p99_ms "$f")" -v b="$base" 'BEGIN { printf "p99 %s / idle window: %.2f ms / %.2f ms = %.2f×\n", w, p, b, p / b }'
    done
} | tee "$OUT/ratios.txt"
grep -aE "(intake|check|accept) .*: [0-9.]+ ms" "$OUT/server.log" | sed 's/\x1b\[[0-9;]*m//g' | tee "$OUT/phases.txt"
say "results in $OUT"
