#!/usr/bin/env bash
# Set up everything and run the main job on the sample district:
#   1. PostGIS up (private cluster, see scripts/lib.sh), the code registry migrated;
#   2. the sample district's parcel, building and household codes validated and
#      registered, new household codes allocated for a building and explained;
#   3. the sample district quality-checked, report written to target/report/;
#   4. the sample district imported into the server's store, and the server started on
#      http://127.0.0.1:8080 (CADASTRE_HTTP_PORT) with a demo account; Ctrl-C stops it.
#      The server connects as the application role cadastre_app (no superuser, no
#      owner: it cannot touch the audit log's protection); migrations, the import
#      and account set-up run as the owner. See docs/deploy.md.
#   5. a demo surveyor hands in a result package of the district with a parcel split and a
#      building table changed (samples/review-edits), and the script waits until its check
#      has ended (`ready` or `failed`; at most CADASTRE_DEMO_CHECK_TIMEOUT s, default 300)
#      and prints the status, so a reviewer finds it checked, with its diff, at
#      http://127.0.0.1:8080/review (user `reviewer`, the demo password).
# Safe to run again: registration skips codes already current; each run
# allocates the next households of the demo building (codes are never reused);
# the import is idempotent (a second run reports every feature unchanged).
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
cd "$ROOT"
ensure_packages
pg_up

SAMPLE="$ROOT/samples/district"
REPORT="$ROOT/target/report"
mkdir -p "$REPORT"

say "building the tools"
cargo build --locked --bins -q
BIN="$ROOT/target/debug"

# The DBF is GBK (see its .cpg); GDAL decodes it, so we take code columns out as UTF-8 CSV.
column() { ogr2ogr -f CSV /vsistdout/ "$SAMPLE/$1.shp" -select "$2" 2>/dev/null; }

say "validating the sample district's codes"
column ZD ZDDM | "$BIN/unit-code" validate --column ZDDM --form parcel - > "$REPORT/zddm-validation.jsonl"
column ZRZ ZRZH | "$BIN/unit-code" validate --column ZRZH --form building - > "$REPORT/zrzh-validation.jsonl"
cat "$SAMPLE"/buildings/*.csv | "$BIN/unit-code" validate --column BDCDYH - > "$REPORT/bdcdyh-validation.jsonl" || true

say "registering the sample district's codes in the registry"
"$BIN/unit-code" db migrate
column ZD ZDDM | "$BIN/unit-code" db register --column ZDDM -
column ZRZ ZRZH | "$BIN/unit-code" db register --column ZRZH -
for f in "$SAMPLE"/buildings/*.csv; do "$BIN/unit-code" db register --column BDCDYH "$f"; done

DEMO_BUILDING="$(column ZRZ ZRZH | sed -n 2p | tr -d ',\r')"
say "allocating 6 new household codes in building $DEMO_BUILDING"
"$BIN/unit-code" db allocate household --building "$DEMO_BUILDING" --count 6 | tee "$REPORT/allocated.txt"
FIRST="$(head -n 1 "$REPORT/allocated.txt")"
say "what $FIRST means"
"$BIN/unit-code" explain "$FIRST"
printf 'land-only unit of that household: %s\n' "$("$BIN/unit-code" land-unit "$FIRST")"
"$BIN/unit-code" db show "$FIRST"

if "$BIN/cadastre" check --help >/dev/null 2>&1; then
    say "quality-checking the sample district"
    status=0
    "$BIN/cadastre" check "$SAMPLE" --json "$REPORT/check.json" --html "$REPORT/check.html" || status=$?
    case $status in
        0) say "sample district passes; report: $REPORT/check.html" ;;
        1) say "sample district FAILS the checks; report: $REPORT/check.html" ;;
        *) die "cadastre check could not read the sample district" ;;
    esac
fi

# Who runs the set-up, for the audit log of the import and the demo account.
export CADASTRE_ACTOR="${CADASTRE_ACTOR:-run.sh}"
say "importing the sample district into the server's store"
"$BIN/tile-server" migrate
status=0
"$BIN/tile-server" import "$SAMPLE" --rejects "$REPORT/import-rejects.csv" --quiet || status=$?
[ "$status" -le 1 ] || die "the import failed (exit $status)"

# The key that encrypts owner names and ID numbers lives outside the database.
RUN_DIR="$ROOT/target/run"
mkdir -p "$RUN_DIR"
[ -s "$RUN_DIR/pii.key" ] || (umask 077; head -c 32 /dev/urandom | base64 > "$RUN_DIR/pii.key")
export CADASTRE_PII_KEY="$(cat "$RUN_DIR/pii.key")"
DEMO_USER=${CADASTRE_DEMO_USER:-demo}
export TILE_SERVER_PASSWORD=${CADASTRE_DEMO_PASSWORD:-Cadastre-Run-2026}
if [ -z "$(psql -At "$DATABASE_URL" -c "SELECT 1 FROM users WHERE username = '$DEMO_USER'")" ]; then
    "$BIN/tile-server" add-user "$DEMO_USER" --role admin --counties 330106
fi

for role in surveyor reviewer; do
    if [ -z "$(psql -At "$DATABASE_URL" -c "SELECT 1 FROM users WHERE username = '$role'")" ]; then
        "$BIN/tile-server" add-user "$role" --role "$role" --counties 330106
    fi
done

PORT=${CADASTRE_HTTP_PORT:-8080}
# The URL (with the role's password) goes through the environment, not the command line (ps).
DATABASE_URL="$(app_db_url "$PG_DB")" "$BIN/tile-server" serve --no-migrate --listen "127.0.0.1:$PORT" &
SERVER=$!
trap 'kill $SERVER 2>/dev/null' INT TERM
for _ in $(seq 1 100); do curl -sf "http://127.0.0.1:$PORT/health" >/dev/null && break; sleep 0.2; done

# Waits for the background check of submission $1 until it is `ready` or `failed` (or
# decided already, on a later run), at most $2 seconds, and prints the final status; after
# the time limit it says so with the status it has. The server keeps serving either way.
wait_for_check() {
    local id=$1 limit=$2 start=$SECONDS status
    while :; do
        status="$(psql -At "$DATABASE_URL" -c "SELECT status FROM submissions WHERE submission_id = $id")"
        case "$status" in
            ready|accepted|returned)
                say "demo submission #$id: $status ($(psql -At -F ', ' "$DATABASE_URL" -c \
                    "SELECT 'verdict ' || coalesce(verdict, '-'), 'score ' || coalesce(round(score::numeric, 1)::text, '-')
                     FROM submission_versions WHERE submission_id = $id ORDER BY version DESC LIMIT 1"))"
                return 0 ;;
            failed)
                say "demo submission #$id: failed: $(psql -At "$DATABASE_URL" -c \
                    "SELECT coalesce(failure, '(no reason recorded)') FROM submission_versions WHERE submission_id = $id ORDER BY version DESC LIMIT 1")"
                return 1 ;;
        esac
        if (( SECONDS - start >= limit )); then
            say "demo submission #$id is still '${status:-not found}' after ${limit} s: its check has not finished (see the server's output above); the reviewers' page lists it with its status, and it becomes ready when the check ends (CADASTRE_DEMO_CHECK_TIMEOUT sets the wait)"
            return 2
        fi
        sleep 1
    done
}

# The demo hand-in (once): a package of the district with known edits, as the surveyor.
DEMO_ID="$(psql -At "$DATABASE_URL" -c "SELECT min(submission_id) FROM submissions")"
if [ -z "$DEMO_ID" ]; then
    say "handing in a demo result package (parcel split, merge, building table changed) as the surveyor"
    "$BIN/cadastre" package build "$ROOT/samples/review-edits" --out "$RUN_DIR/review-edits.zip"
    TOKEN="$(curl -sf -H 'Content-Type: application/json' \
        -d "{\"username\":\"surveyor\",\"password\":\"$TILE_SERVER_PASSWORD\"}" \
        "http://127.0.0.1:$PORT/api/auth/login" | sed -n 's/.*"token":"\([^"]*\)".*/\1/p')"
    ANSWER="$(curl -sS -H "Authorization: Bearer $TOKEN" -H 'Content-Type: application/zip' \
        --data-binary "@$RUN_DIR/review-edits.zip" "http://127.0.0.1:$PORT/api/submissions" || true)"
    echo "$ANSWER"
    DEMO_ID="$(printf '%s' "$ANSWER" | sed -n 's/.*"submission_id":\([0-9]*\).*/\1/p')"
    [ -n "$DEMO_ID" ] || say "the demo hand-in was refused (answer above); the reviewers' page will have no submission"
fi
if [ -n "$DEMO_ID" ]; then
    say "waiting for the check of demo submission #$DEMO_ID"
    wait_for_check "$DEMO_ID" "${CADASTRE_DEMO_CHECK_TIMEOUT:-300}" || true
fi

say "serving the sample district on http://127.0.0.1:$PORT/  (log in as $DEMO_USER / $TILE_SERVER_PASSWORD; Ctrl-C stops)"
say "reviewers' page: http://127.0.0.1:$PORT/review  (log in as reviewer / $TILE_SERVER_PASSWORD)"
say "PostGIS keeps running afterwards: $DATABASE_URL (stop it with scripts/pg.sh stop)"
wait $SERVER
