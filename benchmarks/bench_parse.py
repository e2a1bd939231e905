"""Parser throughput and linearity benchmark.

Throughput: parse + model (``decruft.parse(data)`` then ``df.model``, the semantic
model: stages, scopes, ARG/ENV expansion, reachability) of N typical generated
Dockerfiles (20-60 lines, tests/corpus/generate.py ``typical``) on one core; reports
files/s as the median of R runs.  ``--parse-only`` skips the model.

Linearity: one file of 1,000 / 10,000 / 100,000 lines (``big_file``), seconds each
(parse + model), best of 3.

Both wall-clock and process CPU time are reported: the machine is shared, and CPU
time is the figure that does not move when other processes compete for the core.

    .venv/bin/python benchmarks/bench_parse.py                 # defaults: 5000 files x 5 runs
    .venv/bin/python benchmarks/bench_parse.py --profile       # cProfile of one throughput run
"""

from __future__ import annotations

import argparse
import cProfile
import gc
import importlib.util
import io
import os
import pstats
import statistics
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "src"))

import decruft  # noqa: E402


def load_generator():
    spec = importlib.util.spec_from_file_location("decruft_corpus_generate", ROOT / "tests" / "corpus" / "generate.py")
    gen = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(gen)  # type: ignore[union-attr]
    return gen


def one_core() -> None:
    if hasattr(os, "sched_setaffinity"):
        try:
            os.sched_setaffinity(0, {sorted(os.sched_getaffinity(0))[0]})
        except OSError:
            pass


def run_throughput(files: list[bytes], with_model: bool) -> tuple[float, float]:
    """(wall seconds, CPU seconds of this process) for one pass over ``files``."""
    gc.collect()
    c0, t0 = time.process_time(), time.perf_counter()
    for data in files:
        df = decruft.parse(data)
        if with_model:
            df.model  # noqa: B018
    return time.perf_counter() - t0, time.process_time() - c0


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--files", type=int, default=5000)
    ap.add_argument("--runs", type=int, default=5)
    ap.add_argument("--parse-only", action="store_true")
    ap.add_argument("--sizes", default="1000,10000,100000")
    ap.add_argument("--profile", action="store_true", help="cProfile one throughput run and the 10k file")
    a = ap.parse_args(argv)
    one_core()
    gen = load_generator()
    with_model = not a.parse_only
    files = gen.typical(a.files)
    lines = [f.count(b"\n") for f in files]
    print(f"python {sys.version.split()[0]}, decruft {decruft.__version__}, "
          f"{'parse + model' if with_model else 'parse only'}, one core")
    print(f"throughput: {len(files)} files, {min(lines)}-{max(lines)} lines "
          f"(mean {statistics.mean(lines):.1f}), {sum(map(len, files)) / 1e6:.2f} MB")
    if a.profile:
        prof = cProfile.Profile()
        prof.enable()
        run_throughput(files, with_model)
        prof.disable()
        out = io.StringIO()
        pstats.Stats(prof, stream=out).sort_stats("cumulative").print_stats(35)
        print(out.getvalue())
        out = io.StringIO()
        pstats.Stats(prof, stream=out).sort_stats("tottime").print_stats(25)
        print(out.getvalue())
        return 0
    run_throughput(files[:200], with_model)  # warm-up (imports, caches)
    results = [run_throughput(files, with_model) for _ in range(a.runs)]
    wall = [len(files) / w for w, _ in results]
    cpu = [len(files) / c for _, c in results]
    print("  runs, wall clock (files/s): " + ", ".join(f"{r:,.0f}" for r in wall))
    print("  runs, CPU time   (files/s): " + ", ".join(f"{r:,.0f}" for r in cpu))
    print(f"  median: {statistics.median(wall):,.0f} files/s wall, {statistics.median(cpu):,.0f} files/s CPU "
          f"({1e6 / statistics.median(cpu):.0f} us CPU/file)")
    print("linearity (best of 3; wall / CPU seconds):")
    for n in [int(x) for x in a.sizes.split(",") if x]:
        data = gen.big_file(n)
        best = best_cpu = float("inf")
        for _ in range(3):
            gc.collect()
            c0, t0 = time.process_time(), time.perf_counter()
            df = decruft.parse(data)
            if with_model:
                df.model  # noqa: B018
            best = min(best, time.perf_counter() - t0)
            best_cpu = min(best_cpu, time.process_time() - c0)
        nlines = data.count(b"\n")
        print(f"  {nlines:>7,} lines, {len(data) / 1e6:5.2f} MB, "
              f"{len(df.instructions):>6,} instructions: {best:.3f} s / {best_cpu:.3f} s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
