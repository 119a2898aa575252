# Shared by scripts/fuzz-api.sh and scripts/bench-api.sh: a fresh database, the
# sample district in it, a running `tile-server serve`, tokens. Source it after
# lib.sh; do not run it.
#
#   fresh_db DBNAME                 drop and create DBNAME, migrate it (tile-server migrate)
#   seed_sample_district DBNAME     fill it with samples/district (see below)
#   start_server DBNAME CONFIG      start `tile-server serve` on a free port; sets SERVER_URL, SERVER_PID
#   stop_server                     stop it (only the process start_server started)
#   server_running                  true while that server process is alive
#   user_token NAME ROLE COUNTIES   create a user, print a bearer token
#   client_token ID COUNTIES RATE   create an API client, print a bearer token
#
# seed_sample_district runs the real import: the layers (DJQ, DJZQ, ZD, ZRZ) and the
# building tables of samples/district/buildings/ (households with their apportioned areas).
# The database must be migrated (`tile-server migrate`).

seed_sample_district() {
    local db="$1" status=0
    "$BIN/tile-server" --db "postgres://postgres@127.0.0.1:$PG_PORT/$db" import "$ROOT/samples/district" \
        --rejects "$ROOT/target/seed-rejects.csv" --quiet >/dev/null || status=$?
    [ "$status" -eq 0 ] || die "importing the sample district into $db failed (exit $status, see target/seed-rejects.csv)"
    say "seeded $db with the sample district: $(psql -d "$db" -tAc "SELECT (SELECT count(*) FROM parcels) || ' parcels, ' ||
        (SELECT count(*) FROM buildings) || ' buildings, ' || (SELECT count(*) FROM households) || ' households'")"
}

BIN="${BIN:-${CARGO_TARGET_DIR:-$ROOT/target}/debug}"
API_SECRET="Fuzz-and-bench-secret-1"
# The audit log names who ran the imports and created the accounts.
export CADASTRE_ACTOR="${CADASTRE_ACTOR:-api-lib}"

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
    # One key per script run (export CADASTRE_PII_KEY to keep it across restarts). The
    # server connects as the application role, as in production (docs/deploy.md).
    local app_url
    app_url="$(app_db_url "$db")"
    CADASTRE_PII_KEY="${CADASTRE_PII_KEY:-$(head -c32 /dev/urandom | base64)}" RUST_LOG="${RUST_LOG:-warn}" \
        DATABASE_URL="$app_url" "$BIN/tile-server" --config "$config" \
        serve --no-migrate --listen "127.0.0.1:$port" >"$log" 2>&1 &
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

server_running() {
    [ -n "$SERVER_PID" ] && kill -0 "$SERVER_PID" 2>/dev/null
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
