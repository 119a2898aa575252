#!/usr/bin/env bash
# Manage the project's private PostGIS cluster.
#   scripts/pg.sh start | stop | status | psql [args] | url
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
case "${1:-status}" in
    start) ensure_packages; pg_up; echo "$DATABASE_URL" ;;
    stop) PG_STARTED_HERE=1; pg_down ;;
    status) pg_as_owner "$PG_BIN/pg_ctl" -D "$PG_DIR/data" status ;;
    psql) shift; exec psql -h 127.0.0.1 -p "$PG_PORT" -U postgres -d "$PG_DB" "$@" ;;
    url) echo "postgres://postgres@127.0.0.1:$PG_PORT/$PG_DB" ;;
    *) die "usage: scripts/pg.sh start|stop|status|psql|url" ;;
esac
