#!/usr/bin/env python3
"""Verdict on Autobahn reports: every case must be OK or INFORMATIONAL in
`behavior`, and OK or INFORMATIONAL in `behaviorClose`. Prints the counts per
role and every case that is not plain OK.

usage: check_conformance.py REPORT_DIR... [--min-cases N]
"""
import collections
import json
import pathlib
import sys

GOOD_BEHAVIOR = {"OK", "INFORMATIONAL"}
GOOD_CLOSE = {"OK", "INFORMATIONAL"}


def case_key(case_id):
    return tuple(int(part) for part in case_id.split("."))


def main(argv):
    min_cases = 1
    if "--min-cases" in argv:
        i = argv.index("--min-cases")
        min_cases = int(argv[i + 1])
        del argv[i : i + 2]
    failed = False
    for directory in argv:
        index = pathlib.Path(directory) / "index.json"
        if not index.exists():
            print(f"{directory}: no index.json: the run did not happen")
            failed = True
            continue
        for agent, cases in json.loads(index.read_text()).items():
            counts = collections.Counter(c["behavior"] for c in cases.values())
            closes = collections.Counter(c["behaviorClose"] for c in cases.values())
            print(f"{directory} ({agent}): {len(cases)} cases; behavior {dict(counts)}; "
                  f"behaviorClose {dict(closes)}")
            if len(cases) < min_cases:
                print(f"  only {len(cases)} cases ran, expected at least {min_cases}")
                failed = True
            for case_id in sorted(cases, key=case_key):
                c = cases[case_id]
                if c["behavior"] == "OK" and c["behaviorClose"] == "OK":
                    continue
                bad = c["behavior"] not in GOOD_BEHAVIOR or c["behaviorClose"] not in GOOD_CLOSE
                failed |= bad
                mark = "FAIL" if bad else "info"
                print(f"  {mark} {case_id}: behavior {c['behavior']}, close {c['behaviorClose']}, "
                      f"remote close code {c.get('remoteCloseCode')}")
    print("conformance:", "FAILED" if failed else "passed")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
