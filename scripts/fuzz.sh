#!/usr/bin/env bash
# Fuzz the shapefile readers and the quality-check rules with libFuzzer (cargo fuzz).
#   scripts/fuzz.sh [TARGET=load|check] [SECONDS=300]
# Seeds: every .shp/.dbf pair under ../shared/conformance and the sample district.
# Crashes land in cadastre-core/fuzz/artifacts/TARGET/; reproduce one with
#   cd cadastre-core/fuzz && RUSTC_BOOTSTRAP=1 cargo fuzz run -O TARGET artifacts/TARGET/crash-...
# cargo fuzz needs nightly flags; RUSTC_BOOTSTRAP=1 lets the stable toolchain accept them.
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
TARGET=${1:-load}
SECONDS_TO_RUN=${2:-300}
ensure_packages
command -v cargo-fuzz >/dev/null 2>&1 || cargo install cargo-fuzz --locked
cd "$ROOT/cadastre-core/fuzz"
export CARGO_TARGET_DIR="$ROOT/cadastre-core/fuzz/target"
python3 seed.py "corpus/$TARGET" "${CADASTRE_SHARED_DIR:-$ROOT/../shared}/conformance" "$ROOT/samples/district"
RUSTC_BOOTSTRAP=1 cargo fuzz run -O "$TARGET" "corpus/$TARGET" -- \
    -max_total_time="$SECONDS_TO_RUN" -timeout=10 -rss_limit_mb=2048
