#!/usr/bin/env python3
"""Verdict of an API fuzz run from schemathesis's JSON report.

    fuzz-verdict.py REPORT_DIR SCHEMATHESIS_EXIT SERVER_ALIVE(0|1)
    fuzz-verdict.py --self-test      (scripts/fuzz-api.sh runs it before fuzzing)

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
    if sys.argv[1:] == ["--self-test"]:
        return self_test()
    return verdict(pathlib.Path(sys.argv[1]), int(sys.argv[2]), sys.argv[3] == "1")


def verdict(report_dir: pathlib.Path, st_exit: int, alive: bool) -> int:
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


def self_test() -> int:
    """Each kind of run gets its own verdict; prints nothing when all agree."""
    import contextlib
    import io
    import tempfile

    base = {"schemathesis_version": "test", "complete": True, "failures": [], "errors": [],
            "test_cases": {"generated": 1}}
    crash = {"title": "Runtime Error: AST constructor recursion depth mismatch", "count": 1}
    cases = [
        ("clean run", base, 0, True, 0),
        ("a 5xx", {**base, "failures": [{"title": "Server error", "count": 1, "operations": ["GET /x"]}]}, 1, True, 1),
        ("server died", base, 1, False, 1),
        ("connection refused", {**base, "errors": [{"title": "Network Error: Connection refused", "count": 1}]},
         1, True, 1),
        ("crash inside hypothesis", {**base, "errors": [crash]}, 1, True, 3),
        ("incomplete run", {**base, "complete": False}, 130, True, 3),
        ("no report", None, 1, True, 3),
    ]
    wrong = []
    for name, doc, st_exit, alive, want in cases:
        with tempfile.TemporaryDirectory() as d:
            if doc is not None:
                pathlib.Path(d, "report.json").write_text(json.dumps(doc), encoding="utf-8")
            with contextlib.redirect_stdout(io.StringIO()):
                got = verdict(pathlib.Path(d), st_exit, alive)
        if got != want:
            wrong.append(f"{name}: verdict {got}, expected {want}")
    print("\n".join(wrong) if wrong else "", end="")
    return 1 if wrong else 0


if __name__ == "__main__":
    sys.exit(main())
