"""Compile memelite's (Tomtom) and modisco-lite's numba kernels into the environment's cache.

Both libraries compile their kernels on first use (``@njit(cache=True)``) and keep them in
``__pycache__`` beside their sources, inside the environment: 1-2 minutes of one core the first
time, about 3 s for each later process. Without this step the first ``filters`` and ``patterns``
jobs of a new environment pay it, and jobs that start before the cache is written (the two jobs of
one DAG, two DAGs run side by side in the tests) each compile the same kernels again.
``make setup``'s environment runs this once (``python -m mpralens.interpret.precompile``), beside
lint in ``make test``.

It runs the calls the workflow makes on a small problem whose answer is known: TF-MoDISco on
contribution maps that score exactly 120 sampled GATA1 sites, its patterns matched to JASPAR
(all 879 matrices, and the simulator's 10 catalogue matrices), and Tomtom on float32 and float64
query matrices (filters and patterns). It checks that GATA1 is found, so a broken install fails
here and not in the middle of a run.
"""

from __future__ import annotations

import contextlib
import io
import sys
import time

import numpy as np


def warm() -> dict[str, float]:
    """Run the compiling calls; return seconds per step.

    Raises ``RuntimeError`` if GATA1 is not found (the libraries are broken, not a cache).
    """
    from mpralens.config.settings import MotifSettings
    from mpralens.interpret.patterns import find_patterns, pattern_table
    from mpralens.interpret.tomtom import match
    from mpralens.simulate.catalog import CATALOG, sample_sites

    seconds = {}
    t = time.perf_counter()
    gata1 = next(f for f in CATALOG if f.name == "GATA1")
    rng = np.random.default_rng(0)
    n, length = 60, 120
    seq = rng.integers(0, 4, (n, length))
    scores = rng.normal(0, 0.02, (n, length))
    sites = sample_sites(gata1, 0.6, rng, 2 * n)
    for i in range(n):
        for k, start in enumerate((20, 80)):
            seq[i, start : start + gata1.length] = sites[2 * i + k]
            scores[i, start : start + gata1.length] += 1.0
    settings = MotifSettings(
        max_seqlets=300, n_leiden_runs=2, min_metacluster_size=10, final_min_cluster_size=10
    )
    with contextlib.redirect_stdout(io.StringIO()):  # modisco-lite's progress lines
        patterns = find_patterns(np.eye(4)[seq], scores, settings, task="t", source="warm")
    seconds["modisco"] = time.perf_counter() - t
    t = time.perf_counter()
    table, _ = pattern_table(patterns, planted=True, min_information_content=6.0)
    if table.empty or table.iloc[0]["planted_factor"] != "GATA1":
        raise RuntimeError(f"precompile: TF-MoDISco and Tomtom did not find GATA1:\n{table}")
    queries = [rng.dirichlet(np.ones(4), size=w) for w in (8, 12, 19)]
    for dtype in (np.float64, np.float32):
        match([q.astype(dtype) for q in queries], [f"q{i}" for i in range(len(queries))])
    seconds["tomtom"] = time.perf_counter() - t
    return seconds


def main() -> int:
    """Warm the caches; print one line with the seconds taken."""
    seconds = warm()
    print(
        "mpralens: numba kernels compiled and cached ("
        + ", ".join(f"{k} {v:.0f} s" for k, v in seconds.items())
        + ")",
        file=sys.stderr,
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
