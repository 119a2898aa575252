#!/usr/bin/env bash
# Latency of the building-table pull (GET /api/buildings/{zrzh}/table) under
# 300 concurrent connections on loopback, as the registration system's client:
#   scripts/bench-api.sh     [BENCH_DURATION=30s] [BENCH_CONNECTIONS=300] [BENCH_THREADS=2]
# Seeds a fresh database with the sample district plus one tall building
# (30 floors x 8 households = 240 households), starts the release server and
# runs `wrk --latency` against the tall building and the sample's mixed-use
# building (66 households), twice: with the default settings (token and table
# caches on, kept coherent across instances by LISTEN/NOTIFY: src/cache_sync.rs)
# and with both caches off (token_cache_seconds = 0, table_revalidate_ms = 0:
# every request checks its token and the table's fingerprint in the database);
# with the defaults also as a client that sends Accept-Encoding: gzip.
# Output: target/bench-api/*.txt. A benchmark, not a test: it never fails on timings.
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
cd "$ROOT"
BIN="${CARGO_TARGET_DIR:-$ROOT/target}/release"
source "$ROOT/scripts/api-lib.sh"

DB="cadastre_bench"
OUT="$ROOT/target/bench-api"
DURATION="${BENCH_DURATION:-30s}"
CONNECTIONS="${BENCH_CONNECTIONS:-300}"
THREADS="${BENCH_THREADS:-2}"
TALL="330106001001GB00005F0099"
MIXED="330106001001GB00001F0001"

ensure_packages
command -v wrk >/dev/null || die "wrk not found: install the Debian package wrk"
pg_up
trap 'stop_server; pg_down' EXIT
mkdir -p "$OUT"

say "building the release server"
cargo build --release --locked -q -p tile-server --bin tile-server

say "fresh database $DB: the sample district"
fresh_db "$DB"
seed_sample_district "$DB"
export CADASTRE_PII_KEY="$(head -c32 /dev/urandom | base64)"
cat >"$OUT/default.toml" <<TOML
store_srid = 4549
default_rate_limit_per_minute = 1000000000
max_connections = ${BENCH_POOL:-10}
TOML
cp "$OUT/default.toml" "$OUT/uncached.toml"
printf 'token_cache_seconds = 0\ntable_revalidate_ms = 0\n' >>"$OUT/uncached.toml"
start_server "$DB" "$OUT/default.toml"
ADMIN="$(user_token bench-admin admin 330106)"
TOKEN="$(client_token bench-registration 330106 1000000000)"

# The tall building goes in through the API, so its households carry encrypted
# owner data (masked for the client) and audit rows, as real ones do.
say "writing building $TALL: 30 floors x 8 households through the API"
put_json() {
    curl -fsS -o /dev/null -X PUT -H "Authorization: Bearer $ADMIN" -H 'Content-Type: application/json' \
        -d "$2" "$SERVER_URL$1" || die "PUT $1 failed"
}
floors="$(for f in $(seq 1 30); do printf '{"SJC": %d, "MYC": "%d", "CMC": "第%d层"},' "$f" "$f" "$f"; done)"
put_json "/api/buildings/$TALL" "{\"JZWMC\": \"高层住宅\", \"ZL\": \"西湖区文三路99幢\", \"DSCS\": 30, \"DXCS\": 0,
    \"FWJG\": \"1\", \"GHYT\": \"10\", \"floors\": [${floors%,}]}"
for f in $(seq 1 30); do
    for r in $(seq 1 8); do
        n=$(( (f - 1) * 8 + r )); unit=$(( (r - 1) / 4 + 1 )); room="$f$(printf '%02d' "$r")"
        put_json "/api/households/$TALL$(printf '%04d' "$n")" "{\"SJC\": $f, \"MYC\": \"$f\", \"DYH\": \"$unit\",
            \"SHBW\": \"$room\", \"HX\": \"三室两厅\", \"FWYT\": \"10\", \"ZL\": \"西湖区文三路99幢${unit}单元${room}室\",
            \"SCTNJZMJ\": 89.5, \"SCFTJZMJ\": 13.43, \"SCJZMJ\": 102.93, \"FTXS\": 0.15,
            \"YCTNJZMJ\": 89.2, \"YCFTJZMJ\": 13.38, \"YCJZMJ\": 102.58,
            \"QLR\": \"业主$n\", \"ZJH\": \"3301061990010$(printf '%05d' "$n")\"}"
    done
done

# ACCEPT: the client's Accept-Encoding (empty: none, as wrk sends by default).
ACCEPT=""
run() {
    local name="$1-$CONFIG${ACCEPT:+-$ACCEPT}" zrzh="$2" url="$SERVER_URL/api/buildings/$2/table" size
    size="$(curl -fsS -H "Authorization: Bearer $TOKEN" -H "Accept-Encoding: ${ACCEPT:-identity}" "$url" | wc -c)" \
        || die "GET $url failed"
    say "$name: GET /api/buildings/$zrzh/table ($size bytes), wrk -t$THREADS -c$CONNECTIONS -d$DURATION --latency"
    {
        echo "# $(date -u +%FT%TZ) $name: building $zrzh, $size bytes, config $OUT/$CONFIG.toml; load before: $(cut -d' ' -f1-3 /proc/loadavg)"
        wrk -t"$THREADS" -c"$CONNECTIONS" -d"$DURATION" --latency -H "Authorization: Bearer $TOKEN" \
            ${ACCEPT:+-H "Accept-Encoding: $ACCEPT"} "$url"
        echo "# load after: $(cut -d' ' -f1-3 /proc/loadavg); nproc $(nproc)"
    } | tee "$OUT/wrk-$name.txt"
}
CONFIG=default
run tall "$TALL"
run mixed "$MIXED"
# A client that accepts gzip, as most HTTP libraries do: served the cached gzip copy.
ACCEPT=gzip
run tall "$TALL"
run mixed "$MIXED"
ACCEPT=""
CONFIG=uncached
stop_server
start_server "$DB" "$OUT/$CONFIG.toml"
run tall "$TALL"
run mixed "$MIXED"
say "results in $OUT/wrk-*.txt"
