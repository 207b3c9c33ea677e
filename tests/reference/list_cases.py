"""Lists the cases the fixture scripts make, without making them, so that the
C++ suite can register one test per case when it is built, before any fixture
exists (CMake runs this at configure time; the fixtures come at test time).

usage: list_cases.py OUT.json

A make_*.py that defines FAMILY and PARITY ({id: {"model", "sets", ...}})
contributes parity cases (tests/models/parity_test.cpp); one that defines
SUMMARY contributes `reskit summary` cases (tests/tasks/summary_test.cpp).
OUT.json is rewritten only when its content changes."""
import glob
import importlib
import json
import os
import sys

HERE = os.path.dirname(os.path.abspath(__file__))


def main(out_path):
    sys.path.insert(0, HERE)
    listed = {"parity": [], "summary": []}
    for path in sorted(glob.glob(os.path.join(HERE, "make_*.py"))):
        module = importlib.import_module(os.path.splitext(os.path.basename(path))[0])
        for case_id, c in getattr(module, "PARITY", {}).items():
            listed["parity"].append({"family": module.FAMILY, "id": case_id, "model": c["model"], "sets": c["sets"],
                                     "legacy": bool(c.get("legacy"))})
        listed["summary"].extend(getattr(module, "SUMMARY", {}))
    text = json.dumps(listed, indent=1) + "\n"
    if os.path.exists(out_path) and open(out_path).read() == text:
        return
    with open(out_path + ".tmp", "w") as f:
        f.write(text)
    os.replace(out_path + ".tmp", out_path)


if __name__ == "__main__":
    main(sys.argv[1])
