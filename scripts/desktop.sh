#!/usr/bin/env bash
# Install what the desktop app needs, then start it.
#   scripts/desktop.sh                      the sample district (imported as a new project)
#   scripts/desktop.sh project.gpkg         a project
#   scripts/desktop.sh DIR --lang en        any survey-desktop arguments (--help lists them)
# Without a display (SSH, CI) it runs in a virtual X server and only makes a screenshot:
#   scripts/desktop.sh samples/district --screenshot shot.png
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
cd "$ROOT"
ensure_packages
[ "$#" -gt 0 ] || set -- samples/district
say "building survey-desktop (release)"
cargo build --release --locked -p survey-desktop 2>&1 | tail -n 2
if [ -z "${DISPLAY:-}" ] && [ -z "${WAYLAND_DISPLAY:-}" ]; then
    case " $* " in
        *" --screenshot "*) exec xvfb-run -a -s "-screen 0 1400x900x24" "$ROOT/target/release/survey-desktop" "$@" ;;
        *) die "no display (DISPLAY is not set): run it on a desktop, or add --screenshot FILE" ;;
    esac
fi
exec "$ROOT/target/release/survey-desktop" "$@"
