#!/usr/bin/env bash
# Set up everything and run the main job on the sample district:
#   1. PostGIS up (private cluster, see scripts/lib.sh), the code registry migrated;
#   2. the sample district's parcel, building and household codes validated and
#      registered, new household codes allocated for a building and explained;
#   3. the sample district quality-checked, report written to target/report/.
# Safe to run again: registration skips codes already current; each run
# allocates the next households of the demo building (codes are never reused).
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

say "done. PostGIS keeps running: $DATABASE_URL (stop it with scripts/pg.sh stop)"
