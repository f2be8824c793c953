"""The benchmark suite's plumbing: JSON found after log lines, one record per script."""

import importlib.util
import json
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def load_suite():
    spec = importlib.util.spec_from_file_location("bench_suite", ROOT / "bench" / "suite.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_last_json_skips_log_lines_and_takes_the_final_value():
    suite = load_suite()
    text = 'loading {not json}\n{"a": 1}\nepoch 1\n{\n "b": [1, 2]\n}\n'
    assert suite.last_json(text) == {"b": [1, 2]}
    assert suite.last_json("no json here\n") is None
    assert suite.last_json('{"a": 1}\ntrailing words\n') is None


def test_suite_records_each_script_with_machine_and_commit(tmp_path, monkeypatch):
    suite = load_suite()
    bench = tmp_path / "bench"
    bench.mkdir()
    (bench / "ok.py").write_text('import json, sys\nprint("log")\nprint(json.dumps({"x": 2}))\n')
    (bench / "bad.py").write_text('import sys\nsys.stderr.write("boom")\nsys.exit(3)\n')
    monkeypatch.setattr(suite, "BENCH", bench)
    monkeypatch.setattr(suite, "SMALL", {"ok": ["--size", "1"]})
    out = tmp_path / "s.json"
    assert suite.main(["--out", str(out)]) == 1  # bad.py failed
    got = json.loads(out.read_text())
    ok, bad = got["benchmarks"]["ok"], got["benchmarks"]["bad"]
    assert ok["returncode"] == 0 and ok["result"] == {"x": 2} and ok["command"].endswith("--size 1")
    assert bad["returncode"] == 3 and bad["result"] is None and "boom" in bad["stderr_tail"]
    assert got["machine"]["logical_cores"] >= 1 and got["python"] == sys.version.split()[0]
    assert len(got["git"]["commit"]) == 40
    assert suite.main(["--out", str(out), "--only", "ok"]) == 0
