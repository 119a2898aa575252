#!/usr/bin/env bash
# Fuzz the tile-server API from its own OpenAPI document with schemathesis:
# every operation, generated valid and invalid requests, an admin token; fails
# on any 5xx (check not_a_server_error) and on responses that break the
# documented schema (response_schema_conformance).
#   scripts/fuzz-api.sh            [FUZZ_MAX_EXAMPLES=30] [FUZZ_TIME_LIMIT=170 s]
# The whole script takes about 3.5 minutes on 2 cores once tile-server is built.
# Called by scripts/test.sh after the tests. Needs the debug build of
# tile-server (scripts/test.sh builds it) and python3 with venv.
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
source "$ROOT/scripts/api-lib.sh"
cd "$ROOT"

# Every Python package of the fuzzer at an exact version, with hashes: the run is the
# same on every machine (a new hypothesis once crashed inside itself, issue #10).
REQUIREMENTS="$ROOT/scripts/fuzz-requirements.txt"
VENV="$ROOT/target/fuzz-venv"
WORK="$ROOT/target/fuzz"
DB="cadastre_fuzz"
MAX_EXAMPLES="${FUZZ_MAX_EXAMPLES:-30}"
TIME_LIMIT="${FUZZ_TIME_LIMIT:-170}"

ensure_packages
pg_up
trap 'stop_server; pg_down' EXIT
mkdir -p "$WORK"

# The venv is rebuilt whenever the requirements file changes (its digest is the stamp).
want="$(sha256sum "$REQUIREMENTS" | cut -d' ' -f1)"
if [ ! -x "$VENV/bin/st" ] || [ "$(cat "$VENV/.requirements-sha256" 2>/dev/null)" != "$want" ]; then
    say "installing the API fuzzer's pinned environment into $VENV"
    rm -rf "$VENV"
    python3 -m venv "$VENV" || die "python3 -m venv failed: install python3-venv"
    "$VENV/bin/pip" install -q --disable-pip-version-check --no-deps --require-hashes -r "$REQUIREMENTS" \
        || die "pip could not install $REQUIREMENTS"
    "$VENV/bin/pip" check >/dev/null || die "the pinned fuzzer environment is inconsistent: $VENV/bin/pip check"
    echo "$want" >"$VENV/.requirements-sha256"
fi
# The same build as scripts/test.sh's (workspace, all targets): a no-op after it. Building
# `-p tile-server` alone would resolve other dependency features and rebuild most of the tree.
cargo build --workspace --all-targets --locked -q || die "cannot build the workspace"

say "fresh database $DB with the sample district"
fresh_db "$DB"
seed_sample_district "$DB"
cat >"$WORK/server.toml" <<TOML
store_srid = 4549
# The fuzzer sends thousands of requests with one token: no 429s, please.
default_rate_limit_per_minute = 10000000
max_connections = 10
TOML
start_server "$DB" "$WORK/server.toml"
TOKEN="$(user_token fuzz-admin admin 330106)"
curl -fsS -H "Authorization: Bearer $TOKEN" "$SERVER_URL/api/openapi.json" -o "$WORK/openapi.json" \
    || die "cannot read $SERVER_URL/api/openapi.json"

python3 "$ROOT/scripts/fuzz-verdict.py" --self-test || die "scripts/fuzz-verdict.py --self-test failed"
say "schemathesis: every operation, up to $MAX_EXAMPLES examples each, at most ${TIME_LIMIT}s"
status=0
rm -rf "$WORK/report"
# Logout is left out: it would revoke the token the rest of the run uses.
# One worker: with two, hypothesis ran ast.parse (to describe a lambda) in a worker thread
# and CPython 3.11 raised "SystemError: AST constructor recursion depth mismatch" (issue #10):
# its AST converter keeps the recursion depth in state shared by the interpreter's threads
# (CPython gh-106905). One thread cannot race it, and a seed gives the same run everywhere.
# Result packages (application/zip) come from scripts/fuzz_hooks.py.
PYTHONPATH="$ROOT/scripts" SCHEMATHESIS_HOOKS=fuzz_hooks \
    timeout --signal=INT "$((TIME_LIMIT + 60))" "$VENV/bin/st" run "$WORK/openapi.json" \
    --url "$SERVER_URL" \
    --header "Authorization: Bearer $TOKEN" \
    --checks not_a_server_error,response_schema_conformance \
    --exclude-path /api/auth/logout \
    --max-examples "$MAX_EXAMPLES" \
    --max-time "$TIME_LIMIT" \
    --continue-on-failure \
    --phases examples,coverage,fuzzing \
    --workers 1 \
    --seed 5 \
    --report junit,json --report-dir "$WORK/report" \
    || status=$?
if grep -q "request failed" "$WORK/server.log"; then
    say "server log holds failed requests:"; grep "request failed" "$WORK/server.log" | head -n 20 >&2
fi
server_alive=1
server_running || server_alive=0
# Findings (a check failed on one of our responses) and trouble of the tool itself
# (an internal error, a crash inside hypothesis) are told apart from the JSON report.
verdict="$("$VENV/bin/python" "$ROOT/scripts/fuzz-verdict.py" "$WORK/report" "$status" "$server_alive")" || {
    printf '%s\n' "$verdict" >&2
    die "API fuzzing did not pass (schemathesis exit $status); server log: $WORK/server.log, report: $WORK/report"
}
printf '%s\n' "$verdict" >&2
say "no 5xx and no schema violation (server log: $WORK/server.log)"
