# Shared by scripts/fuzz-api.sh and scripts/bench-api.sh: a fresh database, the
# sample district in it, a running `tile-server serve`, tokens. Source it after
# lib.sh; do not run it.
#
#   fresh_db DBNAME                 drop and create DBNAME, migrate it (tile-server migrate)
#   seed_sample_district DBNAME     fill it with samples/district (see below)
#   start_server DBNAME CONFIG      start `tile-server serve` on a free port; sets SERVER_URL, SERVER_PID
#   stop_server                     stop it (only the process start_server started)
#   user_token NAME ROLE COUNTIES   create a user, print a bearer token
#   client_token ID COUNTIES RATE   create an API client, print a bearer token
#
# Loads sub-districts (DJZQ), parcels (ZD), buildings (ZRZ) and the households
# of samples/district/buildings/*.csv, with their floors, as current versions.
# The one place that fills a store for scripts/fuzz-api.sh and
# scripts/bench-api.sh: when `tile-server import` exists, replace the body with
#   "$BIN/tile-server" import "$ROOT/samples/district" --db "postgres://…/$1"
# Writes straight into the tables (no audit rows: this is set-up, not a user's edit).
# The database must be migrated (`tile-server migrate`) and hold no cadastral rows.

seed_sample_district() {
    local db="$1" sample="$ROOT/samples/district" layer
    local pg="PG:host=127.0.0.1 port=$PG_PORT user=postgres dbname=$db"
    # ogr2ogr decodes the GBK DBFs (their .cpg says so) to UTF-8.
    for layer in DJZQ ZD ZRZ; do
        ogr2ogr -f PostgreSQL "$pg" "$sample/$layer.shp" -nln "seed_${layer,,}" -lco GEOMETRY_NAME=geom \
            -nlt PROMOTE_TO_MULTI -a_srs EPSG:4549 -overwrite \
            || die "ogr2ogr could not load $sample/$layer.shp"
    done
    psql -q -v ON_ERROR_STOP=1 -d "$db" -c "DROP TABLE IF EXISTS seed_h;
        CREATE TABLE seed_h (zrzh text, ljzh text, dyh text, myc text, sjc text, hh text, shbw text, bdcdyh text,
                             hx text, fwyt text, gnq text, fwjg text, yctnjzmj text, sctnjzmj text, zl text)" >/dev/null
    local csv
    for csv in "$sample"/buildings/*.csv; do
        psql -q -v ON_ERROR_STOP=1 -d "$db" -c "\\copy seed_h FROM '$csv' WITH (FORMAT csv, HEADER true)" \
            || die "cannot load $csv"
    done
    psql -q -v ON_ERROR_STOP=1 -d "$db" >/dev/null <<'SQL' || die "seeding the sample district failed"
BEGIN;
INSERT INTO sub_districts (county, djzqdm, djzqmc, geom)
    SELECT left(djzqdm, 6), djzqdm, coalesce(djzqmc, ''), geom FROM seed_djzq;
INSERT INTO parcels (county, zddm, zl, zdmj, yt, qllx, qlxz, geom)
    SELECT left(zddm, 6), zddm, coalesce(zl, ''), zdmj, yt, qllx, qlxz, geom FROM seed_zd;
INSERT INTO buildings (county, zrzh, jzwmc, zl, jgrq, dscs, dxcs, fwjg, ghyt, ycjzmj, scjzmj, geom)
    SELECT left(zrzh, 6), zrzh, coalesce(jzwmc, ''), '', jgrq, dscs, dxcs, fwjg, ghyt, ycjzmj, scjzmj, geom FROM seed_zrz;
-- SJC is a physical floor or a range ("2-3": a nominal floor over two physical ones).
ALTER TABLE seed_h ADD COLUMN sjc_lo int, ADD COLUMN sjc_hi int;
UPDATE seed_h SET sjc_lo = substring(sjc from '^(-?\d+)')::int,
                  sjc_hi = coalesce(substring(sjc from '^-?\d+-(-?\d+)$'), substring(sjc from '^(-?\d+)'))::int;
INSERT INTO floors (county, zrzh, sjc, myc, cmc)
    SELECT DISTINCT ON (zrzh, f) left(zrzh, 6), zrzh, f, myc,
           CASE WHEN myc::int < 0 THEN '负' || abs(myc::int) || '层' ELSE '第' || myc || '层' END
    FROM seed_h, generate_series(sjc_lo, sjc_hi) AS f ORDER BY zrzh, f;
INSERT INTO households (county, bdcdyh, zrzh, ljzh, sjc, myc, dyh, shbw, hx, fwyt, zl, yctnjzmj, sctnjzmj)
    SELECT left(bdcdyh, 6), bdcdyh, zrzh, ljzh, sjc_lo, myc, coalesce(dyh, ''), coalesce(shbw, ''), hx, fwyt,
           coalesce(zl, ''), nullif(yctnjzmj, '')::numeric, nullif(sctnjzmj, '')::numeric
    FROM seed_h;
DROP TABLE seed_h, seed_djzq, seed_zd, seed_zrz;
COMMIT;
SQL
    say "seeded $db with the sample district: $(psql -d "$db" -tAc "SELECT (SELECT count(*) FROM parcels) || ' parcels, ' ||
        (SELECT count(*) FROM buildings) || ' buildings, ' || (SELECT count(*) FROM households) || ' households'")"
}

BIN="${BIN:-${CARGO_TARGET_DIR:-$ROOT/target}/debug}"
API_SECRET="fuzz-and-bench-secret"

fresh_db() {
    psql -q -d postgres -c "DROP DATABASE IF EXISTS \"$1\" WITH (FORCE)" >/dev/null
    psql -q -d postgres -c "CREATE DATABASE \"$1\"" >/dev/null
    "$BIN/tile-server" --db "postgres://postgres@127.0.0.1:$PG_PORT/$1" migrate >/dev/null \
        || die "tile-server migrate failed on $1"
}

free_port() {
    python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'
}

SERVER_PID=""
start_server() {
    local db="$1" config="$2" port log
    port="$(free_port)"
    log="$(dirname "$config")/server.log"
    # One key per script run (export CADASTRE_PII_KEY to keep it across restarts).
    CADASTRE_PII_KEY="${CADASTRE_PII_KEY:-$(head -c32 /dev/urandom | base64)}" RUST_LOG="${RUST_LOG:-warn}" \
        "$BIN/tile-server" --config "$config" --db "postgres://postgres@127.0.0.1:$PG_PORT/$db" \
        serve --listen "127.0.0.1:$port" >"$log" 2>&1 &
    SERVER_PID=$!
    SERVER_URL="http://127.0.0.1:$port"
    local i
    for i in $(seq 1 100); do
        if curl -fsS "$SERVER_URL/health" >/dev/null 2>&1; then
            say "tile-server up at $SERVER_URL (pid $SERVER_PID, log $log)"
            return 0
        fi
        kill -0 "$SERVER_PID" 2>/dev/null || { tail -n 20 "$log" >&2; die "tile-server exited (log: $log)"; }
        sleep 0.2
    done
    die "tile-server did not answer on $SERVER_URL/health (log: $log)"
}

stop_server() {
    if [ -n "$SERVER_PID" ]; then
        kill "$SERVER_PID" 2>/dev/null || true
        wait "$SERVER_PID" 2>/dev/null || true
        SERVER_PID=""
    fi
}

# Prints the token from a login answer.
login_as() {
    curl -fsS -H 'Content-Type: application/json' -d "$1" "$SERVER_URL/api/auth/login" \
        | python3 -c 'import json, sys; print(json.load(sys.stdin)["token"])' \
        || die "login failed: $1"
}

user_token() {
    local db_url="postgres://postgres@127.0.0.1:$PG_PORT/$DB"
    TILE_SERVER_PASSWORD="$API_SECRET" "$BIN/tile-server" --db "$db_url" add-user "$1" --role "$2" --counties "$3" >/dev/null \
        || die "cannot create user $1"
    login_as "{\"username\": \"$1\", \"password\": \"$API_SECRET\"}"
}

client_token() {
    local db_url="postgres://postgres@127.0.0.1:$PG_PORT/$DB"
    TILE_SERVER_PASSWORD="$API_SECRET" "$BIN/tile-server" --db "$db_url" add-client "$1" --counties "$2" --rate-limit "$3" >/dev/null \
        || die "cannot create client $1"
    login_as "{\"client_id\": \"$1\", \"client_secret\": \"$API_SECRET\"}"
}
