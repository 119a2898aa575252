# Shared set-up for scripts/run.sh and scripts/test.sh. Source it; do not run it.
#
# What it provides:
#   ensure_packages   install the Debian packages the workspace needs (idempotent),
#                     then the web console's npm packages (`npm ci`, pinned by its lock file)
#   pg_up             start the project's private PostGIS cluster, export DATABASE_URL
#   pg_down           stop the cluster if pg_up started it in this shell
#
# Settings (environment, all optional):
#   CADASTRE_PG_DIR   cluster directory            [default: target/postgis]
#   CADASTRE_PG_PORT  TCP port on 127.0.0.1        [default: 54329]
#   CADASTRE_DB       database for the main job    [default: cadastre]

set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
PG_VERSION=15
PG_BIN="/usr/lib/postgresql/${PG_VERSION}/bin"
PG_DIR="${CADASTRE_PG_DIR:-$ROOT/target/postgis}"
PG_PORT="${CADASTRE_PG_PORT:-54329}"
PG_DB="${CADASTRE_DB:-cadastre}"
PG_STARTED_HERE=0

# Debian packages, and the file that proves each one is usable.
REQUIRED_PACKAGES=(
    "postgresql-${PG_VERSION}:${PG_BIN}/initdb"
    "postgresql-${PG_VERSION}-postgis-3:/usr/share/postgresql/${PG_VERSION}/extension/postgis.control"
    "postgis:/usr/bin/shp2pgsql"
    "libgdal-dev:/usr/include/gdal/gdal.h"
    # The system SQLite (GDAL's): share-sync's receiver and survey-desktop link it, never a bundled copy.
    "libsqlite3-dev:/usr/include/sqlite3.h"
    # libsqlite3-sys generates its bindings against that SQLite with bindgen, which loads libclang.
    "libclang-dev:/usr/lib/llvm-14/lib/libclang.so"
    "gdal-bin:/usr/bin/ogr2ogr"
    "libproj-dev:/usr/include/proj.h"
    "clang:/usr/bin/clang"
    "pkg-config:/usr/bin/pkg-config"
    # The web console's browser test (tile-server tests/server/browser.rs).
    "chromium:/usr/bin/chromium"
    "chromium-driver:/usr/bin/chromedriver"
    # scripts/fuzz-api.sh makes a venv for schemathesis; scripts/bench-api.sh uses wrk.
    "python3-venv:/usr/share/doc/python3-venv"
    "wrk:/usr/bin/wrk"
    # The web console's MapLibre GL JS comes from npm (tile-server/console/package-lock.json).
    "nodejs:/usr/bin/node"
    "npm:/usr/bin/npm"
    # Chinese text in the browser tests' screenshots (no empty boxes) and in survey-desktop.
    "fonts-noto-cjk:/usr/share/fonts/opentype/noto/NotoSansCJK-Regular.ttc"
    # The printed maps' tests read and render PDFs (cadastre-core tests/print.rs).
    "poppler-utils:/usr/bin/pdftotext"
    # share-sync: SM2 signatures checked by stock OpenSSL 3 (keys::tests); peak RSS in scripts/bench-sync.sh.
    "openssl:/usr/bin/openssl"
    "time:/usr/bin/time"
    # scripts/run.sh hands in the demo result package over HTTP.
    "curl:/usr/bin/curl"
    # survey-desktop: GTK file dialogs (rfd, build time), a virtual X server for its window
    # tests and Mesa's software OpenGL (llvmpipe) to draw without a GPU.
    "libgtk-3-dev:/usr/include/gtk-3.0/gtk/gtk.h"
    "xvfb:/usr/bin/Xvfb"
    "xauth:/usr/bin/xauth"
    "libgl1-mesa-dri:/usr/lib/x86_64-linux-gnu/dri/swrast_dri.so"
    "libegl1:/usr/lib/x86_64-linux-gnu/libEGL.so.1"
    "libxkbcommon-x11-0:/usr/lib/x86_64-linux-gnu/libxkbcommon-x11.so.0"
)

say() { printf '\033[1m==> %s\033[0m\n' "$*" >&2; }
die() { printf '\033[31merror:\033[0m %s\n' "$*" >&2; exit 1; }

as_root() {
    if [ "$(id -u)" -eq 0 ]; then "$@"
    elif command -v sudo >/dev/null 2>&1; then sudo "$@"
    else return 1; fi
}

ensure_packages() {
    local missing=() entry pkg file
    for entry in "${REQUIRED_PACKAGES[@]}"; do
        pkg="${entry%%:*}"; file="${entry#*:}"
        [ -e "$file" ] || missing+=("$pkg")
    done
    if [ "${#missing[@]}" -gt 0 ]; then
        say "installing Debian packages: ${missing[*]}"
        as_root env DEBIAN_FRONTEND=noninteractive apt-get update -qq \
            || die "cannot run apt-get update (need root or sudo); install by hand: ${missing[*]}"
        as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null \
            || die "apt-get install failed for: ${missing[*]}"
        for entry in "${REQUIRED_PACKAGES[@]}"; do
            [ -e "${entry#*:}" ] || die "package ${entry%%:*} installed but ${entry#*:} is still missing"
        done
    fi
    command -v cargo >/dev/null 2>&1 || die "cargo not found: install Rust with rustup (https://rustup.rs)"
    ensure_console_modules
}

# The console's browser libraries: `npm ci` from the committed lock file (exact
# versions, nothing third-party in git), again whenever the lock file changes.
ensure_console_modules() {
    local dir="$ROOT/tile-server/console"
    if [ ! -f "$dir/node_modules/.package-lock.json" ] || [ "$dir/package-lock.json" -nt "$dir/node_modules/.package-lock.json" ]; then
        say "installing the web console's npm packages (npm ci in tile-server/console)"
        (cd "$dir" && npm ci --ignore-scripts --no-audit --no-fund --loglevel=error) \
            || die "npm ci failed in $dir (network to the npm registry, or Node.js/npm missing)"
    fi
}

# Run a PostgreSQL server binary as the cluster owner: `postgres` when we are
# root (the server refuses to run as root), ourselves otherwise.
pg_as_owner() {
    if [ "$(id -u)" -eq 0 ]; then runuser -u postgres -- "$@"; else "$@"; fi
}

pg_up() {
    mkdir -p "$PG_DIR"
    # Absolute: the permission walk below climbs to `/`, and a relative path never gets there.
    PG_DIR="$(cd "$PG_DIR" && pwd)"
    local data="$PG_DIR/data" sock="$PG_DIR/run" log="$PG_DIR/server.log"
    if [ "$(id -u)" -eq 0 ]; then
        id postgres >/dev/null 2>&1 || die "user 'postgres' missing: is postgresql-${PG_VERSION} installed?"
        chown postgres:postgres "$PG_DIR"
        # The server must be able to reach its data directory through our tree.
        local d="$PG_DIR"; while [ "$d" != "/" ]; do chmod o+x "$d" 2>/dev/null || true; d="$(dirname "$d")"; done
    fi
    if [ ! -s "$data/PG_VERSION" ]; then
        say "creating PostGIS cluster in $data"
        pg_as_owner mkdir -p "$data" "$sock"
        pg_as_owner "$PG_BIN/initdb" -D "$data" -A trust -U postgres -E UTF8 --locale=C.UTF-8 >/dev/null \
            || die "initdb failed in $data"
    fi
    pg_as_owner mkdir -p "$sock"
    if pg_as_owner "$PG_BIN/pg_ctl" -D "$data" status >/dev/null 2>&1; then
        say "PostGIS already running on port $PG_PORT"
    else
        if (exec 3<>"/dev/tcp/127.0.0.1/$PG_PORT") 2>/dev/null; then
            die "port $PG_PORT is taken by another program; set CADASTRE_PG_PORT to a free port"
        fi
        say "starting PostGIS on 127.0.0.1:$PG_PORT"
        pg_as_owner "$PG_BIN/pg_ctl" -D "$data" -l "$log" -w -t 60 \
            -o "-p $PG_PORT -k $sock -c listen_addresses=127.0.0.1 -c max_connections=500 -c shared_buffers=256MB" start >/dev/null \
            || { tail -n 20 "$log" >&2 || true; die "PostgreSQL did not start (log: $log)"; }
        PG_STARTED_HERE=1
    fi
    # The application role logs in with a password (app_db_url below); the other roles
    # are trusted on this private, loopback-only development cluster.
    local hba="$data/pg_hba.conf"
    if ! pg_as_owner grep -q "^host all cadastre_app " "$hba"; then
        pg_as_owner sh -c "{ printf 'host all cadastre_app 127.0.0.1/32 scram-sha-256\nhost all cadastre_app ::1/128 scram-sha-256\n'; cat '$hba'; } > '$hba.new' && mv '$hba.new' '$hba'"
        pg_as_owner "$PG_BIN/pg_ctl" -D "$data" reload >/dev/null || die "cannot reload PostgreSQL after editing $hba"
    fi
    export PGHOST=127.0.0.1 PGPORT="$PG_PORT" PGUSER=postgres
    export DATABASE_URL="postgres://postgres@127.0.0.1:$PG_PORT/$PG_DB"
    if ! psql -d postgres -tAc "SELECT 1 FROM pg_database WHERE datname='$PG_DB'" | grep -q 1; then
        psql -q -d postgres -c "CREATE DATABASE \"$PG_DB\"" >/dev/null
    fi
    psql -q -d "$PG_DB" -c "CREATE EXTENSION IF NOT EXISTS postgis" >/dev/null \
        || die "CREATE EXTENSION postgis failed: is postgresql-${PG_VERSION}-postgis-3 installed?"
    say "database ready: $DATABASE_URL ($(psql -d "$PG_DB" -tAc 'SELECT postgis_lib_version()' | tr -d ' ') PostGIS)"
}

# URL of database $1 for `tile-server serve`: the non-superuser application role
# cadastre_app (created by the migrations), given LOGIN and a password kept in the
# cluster's directory (one password per cluster: roles are cluster-wide). The
# database must be migrated. Only `migrate` and imports run as the owner.
app_db_url() {
    local pw_file="$PG_DIR/cadastre_app.password"
    if [ ! -s "$pw_file" ]; then
        (umask 077; head -c 24 /dev/urandom | base64 | tr -d '/+=\n' > "$pw_file")
    fi
    local pw
    pw="$(cat "$pw_file")"
    # Through stdin: psql substitutes :'pw' (quoted) there, not in -c.
    psql -q -d "$1" -v ON_ERROR_STOP=1 -v pw="$pw" >/dev/null <<<"ALTER ROLE cadastre_app LOGIN PASSWORD :'pw'" \
        || die "cannot give cadastre_app a password (is $1 migrated?)"
    echo "postgres://cadastre_app:$pw@127.0.0.1:$PG_PORT/$1"
}

pg_down() {
    if [ "$PG_STARTED_HERE" -eq 1 ]; then
        say "stopping PostGIS"
        pg_as_owner "$PG_BIN/pg_ctl" -D "$PG_DIR/data" -m fast -w stop >/dev/null || true
        PG_STARTED_HERE=0
    fi
}
