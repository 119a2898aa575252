#!/usr/bin/env bash
# Set up everything and run every test of the workspace against a real PostGIS.
#   scripts/test.sh [extra arguments for cargo nextest / cargo test]
# The cluster this script starts is stopped when it ends.
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
cd "$ROOT"
ensure_packages
pg_up
trap pg_down EXIT

export CADASTRE_SHARED_DIR="${CADASTRE_SHARED_DIR:-$ROOT/../shared}"
say "format"
# rustfmt.toml is the style; a diff here fails the run before anything is built.
cargo fmt --all --check
say "building"
cargo build --workspace --all-targets --locked 2>&1 | tail -n 3
# Light users: cadastre-core without its GDAL and PROJ features.
cargo build -p cadastre-core --no-default-features --all-targets --locked 2>&1 | tail -n 3
say "doc tests"
cargo test --workspace --doc --locked -q
say "tests"
tests=0
if cargo nextest --version >/dev/null 2>&1; then
    cargo nextest run --workspace --locked --no-fail-fast "$@" || tests=$?
    cargo nextest run -p cadastre-core --no-default-features --locked --no-fail-fast "$@" || tests=$?
else
    cargo test --workspace --locked --no-fail-fast "$@" || tests=$?
    cargo test -p cadastre-core --no-default-features --locked --no-fail-fast "$@" || tests=$?
fi
say "lints (clippy, warnings are errors)"
# The workspace lints (unwrap_used among them) are warnings in the editor and errors here.
lint=0
cargo clippy --workspace --all-targets --locked -q -- -D warnings || lint=$?
say "fuzzing the API from its OpenAPI document"
fuzz=0
"$ROOT/scripts/fuzz-api.sh" || fuzz=$?
[ "$tests" -eq 0 ] || die "tests failed (exit $tests)"
[ "$fuzz" -eq 0 ] || die "API fuzzing failed (exit $fuzz)"
[ "$lint" -eq 0 ] || die "clippy reported problems (exit $lint)"
