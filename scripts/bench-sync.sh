#!/usr/bin/env bash
# share-sync with 1,000,000 unit rows: export from the internal store, apply into a
# SQLite and a PostgreSQL receiving database, against a plain COPY of the same rows
# into PostgreSQL as the floor; peak RSS of each step; the signature cost per package.
#   scripts/bench-sync.sh     [BENCH_UNITS=1000000]
# Seeds a fresh internal store (tile-server's migrations) by SQL: 20,000 parcels,
# 40,000 buildings, BENCH_UNITS households (no geometry needed for the unit tables).
# Output: target/bench-sync/results.txt. A benchmark, not a test: it never fails on timings.
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
# Who runs the import, for the audit log (tile-server import and add-user need one).
export CADASTRE_ACTOR="${CADASTRE_ACTOR:-bench-sync}"
cd "$ROOT"
BIN="${CARGO_TARGET_DIR:-$ROOT/target}/release"
UNITS="${BENCH_UNITS:-1000000}"
OUT="$ROOT/target/bench-sync"
INTERNAL="share_sync_bench_internal"
RECEIVING="share_sync_bench_receiving"
FLOOR="share_sync_bench_copy"

ensure_packages
pg_up
trap pg_down EXIT
psql_admin() { psql -q -v ON_ERROR_STOP=1 -h 127.0.0.1 -p "$PG_PORT" -U postgres "$@"; }
url_of() { echo "postgres://postgres@127.0.0.1:$PG_PORT/$1"; }

say "building release binaries"
cargo build --release --locked -p share-sync --bin share-sync 2>&1 | tail -n 1

rm -rf "$OUT" && mkdir -p "$OUT"
echo "started $(date -u '+%Y-%m-%d %H:%M:%S UTC'), commit $(git rev-parse --short HEAD), BENCH_UNITS=$UNITS" > "$OUT/results.txt"
for db in "$INTERNAL" "$RECEIVING" "$FLOOR"; do
    psql_admin -d postgres -c "DROP DATABASE IF EXISTS $db WITH (FORCE)" -c "CREATE DATABASE $db"
done

say "seeding the internal store with $UNITS unit rows"
for f in tile-server/migrations/*.sql; do psql_admin -d "$INTERNAL" -f "$f" >/dev/null; done
BUILDINGS=$(( (UNITS + 24) / 25 ))
PARCELS=$(( (BUILDINGS + 1) / 2 ))
psql_admin -d "$INTERNAL" <<SQL
INSERT INTO parcels (county, zddm, zl, zdmj, yt, qllx, qlxz)
SELECT '330106', '3301060010' || lpad((p / 90000 + 1)::text, 2, '0') || 'GB' || lpad((p % 90000 + 1)::text, 5, '0'),
       '西湖区文三路' || p || '号', 800 + p % 700, '0701', '4', '102'
FROM generate_series(0, $PARCELS - 1) p;
INSERT INTO buildings (county, zrzh, jzwmc, zl, dscs, dxcs, fwjg, ghyt, ycjzmj, scjzmj)
SELECT '330106', zddm || 'F' || lpad(b::text, 4, '0'), b || '号楼', zl || b || '幢', 12, 1, '2', '住宅', 3000, 2990.5
FROM parcels, generate_series(1, 2) b;
INSERT INTO floors (county, zrzh, sjc, myc, cmc)
SELECT '330106', zrzh, f, f::text, '第' || f || '层' FROM buildings, generate_series(1, 13) f;
INSERT INTO households (county, bdcdyh, zrzh, ljzh, sjc, myc, dyh, shbw, hx, fwyt, zl,
    ycjzmj, sctnjzmj, scftjzmj, scjzmj, ftxs, fttdmj)
SELECT '330106', b.zrzh || lpad(h::text, 4, '0'), b.zrzh, '1', (h - 1) / 2 + 1, ((h - 1) / 2 + 1)::text, '1',
       lpad(((h - 1) / 2 + 1)::text, 2, '0') || lpad(((h - 1) % 2 + 1)::text, 2, '0'), '三室两厅', '住宅',
       b.zl || h || '室', 120.5, 98.25 + h % 7, 21.75, 120 + h % 7, 0.22137404, 15.5
FROM (SELECT zrzh, zl, row_number() OVER (ORDER BY zrzh) AS n FROM buildings) b, generate_series(1, 25) h
WHERE (b.n - 1) * 25 + h <= $UNITS;
ANALYZE;
SQL
psql_admin -d "$INTERNAL" -Atc "SELECT count(*) || ' households, ' || (SELECT count(*) FROM buildings) || ' buildings, ' || (SELECT count(*) FROM parcels) || ' parcels' FROM households" | tee -a "$OUT/results.txt"

# CPU seconds of the PostgreSQL server processes that ended so far (a backend's time is
# added to the postmaster's children time when its connection closes): the server's
# share of a step, independent of how busy the machine is.
pg_cpu() {
    awk -v hz="$(getconf CLK_TCK)" '{ printf "%.2f", ($16 + $17) / hz }' \
        "/proc/$(head -n 1 "$PG_DIR/data/postmaster.pid")/stat"
}

measure() { # name, command...: wall time and peak RSS via GNU time, with the load before it
    local name="$1"; shift
    echo "$name: load average before: $(cut -d' ' -f1-3 /proc/loadavg)" >> "$OUT/results.txt"
    local before; before="$(pg_cpu)"
    /usr/bin/time -f "$name: %e s wall, %U s user, %S s sys, %M KB peak RSS" -o "$OUT/$name.time" "$@" >"$OUT/$name.out" 2>"$OUT/$name.err" \
        || { cat "$OUT/$name.err"; die "$name failed"; }
    sleep 1 # the backend's exit is reaped
    cat "$OUT/$name.time" | tee -a "$OUT/results.txt"
    echo "$name: PostgreSQL server CPU $(awk -v a="$before" -v b="$(pg_cpu)" 'BEGIN { printf "%.2f", b - a }') s" | tee -a "$OUT/results.txt"
}

"$BIN/share-sync" keygen --out "$OUT/keys" > "$OUT/key-id"
KEY="$OUT/keys/$(cat "$OUT/key-id").key"
PUB="$OUT/keys/$(cat "$OUT/key-id").pub"

say "export"
measure export "$BIN/share-sync" export --db "$(url_of "$INTERNAL")" --key "$KEY" --out "$OUT/outbox"
PACKAGE="$(ls "$OUT"/outbox/*.tar)"
ls -l "$PACKAGE" | awk '{printf "package: %.0f MB\n", $5 / 1048576}' | tee -a "$OUT/results.txt"

say "apply (SQLite)"
measure apply-sqlite "$BIN/share-sync" apply --db "sqlite://$OUT/extranet.db" --trust "$PUB" "$PACKAGE"
say "apply (PostgreSQL)"
measure apply-postgres "$BIN/share-sync" apply --db "$(url_of "$RECEIVING")" --inbox "$OUT/inbox" --trust "$PUB" "$PACKAGE"

say "floor: COPY of the same unit rows into an empty PostgreSQL table"
psql_admin -d "$INTERNAL" -c "\\copy (SELECT bdcdyh, zrzh, fwbm, ljzh, sjc, myc, dyh, shbw, hx, fwyt, zl, yctnjzmj, ycftjzmj, ycjzmj, sctnjzmj, scftjzmj, scjzmj, ftxs, gytdmj, fttdmj, dytdmj, mortgaged::int, sealed::int, state, version_id, valid_from::text, 1 FROM households WHERE state = 'current') TO '$OUT/units.copy'"
psql_admin -d "$FLOOR" -f share-sync/migrations/0001_receiver.sql >/dev/null
measure copy-postgres psql -q -v ON_ERROR_STOP=1 -h 127.0.0.1 -p "$PG_PORT" -U postgres -d "$FLOOR" -c "\\copy units FROM '$OUT/units.copy'"

say "signature cost per package"
"$BIN/share-sync" signature-cost | tee -a "$OUT/results.txt"
say "the same package applied again (verify + duplicate check only)"
measure reapply-sqlite "$BIN/share-sync" apply --db "sqlite://$OUT/extranet.db" --trust "$PUB" "$PACKAGE"

echo "finished $(date -u '+%Y-%m-%d %H:%M:%S UTC'), load average $(cut -d' ' -f1-3 /proc/loadavg)" | tee -a "$OUT/results.txt"
echo "machine: $(nproc) cores, $(free -g | awk '/Mem:/ {print $2}') GB RAM" | tee -a "$OUT/results.txt"
say "results: $OUT/results.txt"
cat "$OUT/results.txt"
# Large data out of the way; keep the results.
rm -rf "$OUT/outbox" "$OUT/extranet.db"* "$OUT/units.copy" "$OUT/inbox" "$OUT/extranet.db.inbox"
for db in "$INTERNAL" "$RECEIVING" "$FLOOR"; do psql_admin -d postgres -c "DROP DATABASE IF EXISTS $db WITH (FORCE)"; done
