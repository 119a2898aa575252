#!/usr/bin/env python3
"""Verdict of an API fuzz run from schemathesis's JSON report.

    fuzz-verdict.py REPORT_DIR SCHEMATHESIS_EXIT SERVER_ALIVE(0|1)

Prints one paragraph and exits 0 only when the run is complete, every check passed
and the tool reported no error. Exit 1: our API failed a check (a 5xx, a response
outside the documented schema) or the server died. Exit 3: the fuzzer itself failed
(an internal error, a crash inside hypothesis, no report): not a finding about our
API, but the run proves nothing, so it fails too.
"""
import json
import pathlib
import sys

# Errors that mean the server stopped answering: a finding about us, not the tool.
SERVER_TROUBLE = ("connection", "network", "timeout", "timed out", "refused", "reset")


def main() -> int:
    report_dir, st_exit, alive = pathlib.Path(sys.argv[1]), int(sys.argv[2]), sys.argv[3] == "1"
    reports = sorted(report_dir.glob("*.json"))
    if not reports:
        print(f"FUZZER FAILURE: schemathesis exited {st_exit} and wrote no JSON report in {report_dir}: "
              "the tool crashed before finishing; this is not a finding about the API.")
        return 3
    doc = json.loads(reports[-1].read_text(encoding="utf-8"))
    failures, errors = doc.get("failures") or [], doc.get("errors") or []
    cases = doc.get("test_cases") or {}
    summary = (f"schemathesis {doc.get('schemathesis_version')}: {cases.get('generated', 0)} generated test cases, "
               f"{len(failures)} failure groups, {len(errors)} error groups, exit {st_exit}")
    if not alive:
        print(f"API FAILURE: the server died during the run. {summary}")
        return 1
    if failures:
        lines = [f"  - {f.get('title')} ({f.get('count')}x) in {', '.join(f.get('operations') or [])}" for f in failures]
        print(f"API FAILURE: {summary}\n" + "\n".join(lines))
        return 1
    server_errors = [e for e in errors if any(w in (e.get("title") or "").lower() for w in SERVER_TROUBLE)]
    if server_errors:
        lines = [f"  - {e.get('title')} ({e.get('count')}x)" for e in server_errors]
        print(f"API FAILURE: requests failed at the transport level. {summary}\n" + "\n".join(lines))
        return 1
    if errors or not doc.get("complete", False) or st_exit != 0:
        lines = [f"  - {e.get('title')} ({e.get('count')}x)" for e in errors]
        print(f"FUZZER FAILURE (not a finding about the API; the tool could not finish its job): {summary}\n"
              + "\n".join(lines)
              + "\nThe environment is pinned in scripts/fuzz-requirements.txt; see the full output above.")
        return 3
    print(f"passed: {summary}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
