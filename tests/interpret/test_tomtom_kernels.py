"""memelite's kernels are compiled by one process at a time and cover the workflow's Tomtom calls
(mpralens.interpret.tomtom.compile_kernels)."""

from __future__ import annotations

import fcntl
import json
import logging
import os
import subprocess
import sys
import textwrap

import numpy as np

import mpralens.interpret.tomtom as tt

# A stand-in for the compile: records when it ran in this process, takes a second.
FAKE = textwrap.dedent(
    """
    import json, os, sys, time
    import mpralens.interpret.tomtom as tt

    def fake():
        start = time.time()
        time.sleep(1.0)
        with open(sys.argv[1], "a") as f:
            f.write(json.dumps([os.getpid(), start, time.time()]) + "\\n")

    tt._warm = fake
    tt.compile_kernels()
    assert tt.compile_kernels() == 0.0  # once per process
    """
)


def test_processes_compile_one_at_a_time(tmp_path):
    env = dict(os.environ, TMPDIR=str(tmp_path))  # the lock file lives in the temporary folder
    record = tmp_path / "record.jsonl"
    procs = [subprocess.Popen([sys.executable, "-c", FAKE, str(record)], env=env) for _ in range(3)]
    assert [p.wait(timeout=120) for p in procs] == [0, 0, 0]
    runs = sorted(json.loads(line) for line in record.read_text().splitlines())
    assert sorted(pid for pid, *_ in runs) == sorted(p.pid for p in procs)  # each ran it once
    spans = sorted((start, end) for _, start, end in runs)
    for (_, end), (start, _) in zip(spans, spans[1:], strict=False):
        assert end <= start, spans  # never two at once
    assert list(tmp_path.glob("mpralens-memelite-kernels-*.lock"))


def test_a_process_that_waits_too_long_compiles_itself(tmp_path, monkeypatch, caplog):
    monkeypatch.setattr(tt.tempfile, "tempdir", str(tmp_path))
    monkeypatch.setattr(tt, "_compiled", False)
    monkeypatch.setattr(tt, "LOCK_TIMEOUT_S", 0.2)
    calls = []
    monkeypatch.setattr(tt, "_warm", lambda: calls.append(1))
    path = tt.lock_path()
    assert path.parent == tmp_path
    with open(path, "w") as held:  # another process's lock
        fcntl.flock(held, fcntl.LOCK_EX)
        with caplog.at_level(logging.WARNING, logger=tt.__name__):
            tt.compile_kernels()
    assert calls == [1]
    assert "compiling here" in caplog.text and str(path) in caplog.text


def test_a_process_that_cannot_lock_compiles_itself(tmp_path, monkeypatch, caplog):
    monkeypatch.setattr(tt.tempfile, "tempdir", str(tmp_path))
    monkeypatch.setattr(tt, "_compiled", False)
    calls = []
    monkeypatch.setattr(tt, "_warm", lambda: calls.append(1))
    tt.lock_path().mkdir()  # a folder where the lock file should be: opening it fails
    with caplog.at_level(logging.WARNING, logger=tt.__name__):
        tt.compile_kernels()
    assert calls == [1] and tt._compiled
    assert "cannot lock" in caplog.text


def _overloads() -> dict[str, int]:
    from numba.core.dispatcher import Dispatcher

    module = sys.modules["memelite.tomtom"]  # `memelite.tomtom` is also the function's name

    return {
        name: len(obj.overloads)
        for name, obj in vars(module).items()
        if isinstance(obj, Dispatcher)
    }


def test_warm_call_compiles_what_the_workflow_calls_use():
    """After compile_kernels, Tomtom calls shaped like the filters' and the patterns' (1-100
    queries of 12-30 columns, float32 or float64) compile no other version of any kernel."""
    tt.compile_kernels()
    before = _overloads()
    assert before["_tomtom"] == 1  # the entry kernel (the others are compiled into it)
    rng = np.random.default_rng(1)
    for n, widths, dtype in [
        (1, (24,), np.float64),
        (5, (12, 30), np.float32),
        (16, (15,), np.float32),
        (100, (19,), np.float64),
    ]:
        queries = [
            rng.dirichlet(np.ones(4), size=widths[i % len(widths)]).astype(dtype) for i in range(n)
        ]
        table = tt.match(queries, [f"q{i}" for i in range(n)])
        assert len(table) == n * len(tt.jaspar_core_vertebrates())
    assert _overloads() == before
