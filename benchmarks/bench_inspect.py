"""``decruft inspect`` against dive 0.13.1, side by side in the same run.

Sub-commands (all write their big files under --workdir, /tmp by default, and delete them):

    .venv/bin/python benchmarks/bench_inspect.py speed      # 1 GB 3-layer archive, >= 3,000 whiteouts
    .venv/bin/python benchmarks/bench_inspect.py memory     # 5 GB / >= 200,000-file sparse archive
    .venv/bin/python benchmarks/bench_inspect.py floor      # throughput vs `tar -t` over the same layers
    .venv/bin/python benchmarks/bench_inspect.py compare    # dive-compatible figures vs dive on real images
    .venv/bin/python benchmarks/bench_inspect.py phases     # in-process: reading (C vs pure-Python loop), analysis
    .venv/bin/python benchmarks/bench_inspect.py all

Timing: every command runs once to warm the page cache, then ``--runs`` times (default 3); the
median wall time is reported, and the peak RSS of the child (``wait4`` rusage).  decruft runs as
``decruft inspect ARCHIVE --format json --no-progress`` (and ``--dive-compatible``, which adds
dive's figures); dive runs as ``dive --source docker-archive ARCHIVE --ci`` with its rules relaxed
so both finish the whole analysis.  Synthetic archives use the ``docker save`` layout of Docker
<= 24 (what this engine writes), made by ``tests/image/builders.py``.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import resource
import shutil
import statistics
import subprocess
import sys
import tarfile
import tempfile
import time
from pathlib import Path
from typing import Iterator

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "src"))

from decruft.image.model import Entry, EntryType  # noqa: E402
from tests.image.builders import ArchiveLayer, write_docker_archive  # noqa: E402

VENV_BIN = ROOT / ".venv" / "bin"
DECRUFT = str(VENV_BIN / "decruft")
DIVE = shutil.which("dive") or str(VENV_BIN / "dive")


# --------------------------------------------------------------------------- running


def evict(path: Path) -> None:
    """Drop ``path`` (only this file) from the page cache, for cold-cache runs."""
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
        os.posix_fadvise(fd, 0, 0, os.POSIX_FADV_DONTNEED)
    finally:
        os.close(fd)


def run(cmd: list[str], *, stdout=subprocess.DEVNULL) -> tuple[float, float, int, int]:
    """(wall seconds, CPU seconds user+sys, peak RSS in MB, exit code) of one child process."""
    start = time.perf_counter()
    proc = subprocess.Popen(cmd, stdout=stdout, stderr=subprocess.DEVNULL)
    _, status, usage = os.wait4(proc.pid, 0)
    elapsed = time.perf_counter() - start
    proc.returncode = os.waitstatus_to_exitcode(status)
    return elapsed, usage.ru_utime + usage.ru_stime, usage.ru_maxrss // 1024, proc.returncode


def measure(cmd: list[str], runs: int, *, cold: Path | None = None, warm_up: bool = True) -> dict:
    """Median wall and CPU time of ``runs`` runs (after one warm-up run unless ``cold`` is a
    file to evict from the page cache before every run)."""
    if warm_up and cold is None:
        run(cmd)
    samples = []
    for _ in range(runs):
        if cold is not None:
            evict(cold)
        samples.append(run(cmd))
    return {
        "seconds": statistics.median(s[0] for s in samples),
        "cpu_seconds": statistics.median(s[1] for s in samples),
        "best": min(s[0] for s in samples),
        "rss_mb": max(s[2] for s in samples),
        "exit": samples[-1][3],
        "runs": runs,
        "cold": cold is not None,
        "cmd": " ".join(cmd),
    }


def load_average() -> str:
    return " ".join(f"{x:.1f}" for x in os.getloadavg())


def decruft_cmd(archive: Path, *extra: str) -> list[str]:
    return [DECRUFT, "inspect", str(archive), "--format", "json", "--no-progress", *extra]


def dive_cmd(archive: Path) -> list[str]:
    return [DIVE, "--source", "docker-archive", str(archive), "--ci", "--lowestEfficiency", "0",
            "--highestUserWastedPercent", "disabled"]


def side_by_side(label: str, archive: Path, runs: int, *, cold: bool = False, dive_runs: int | None = None) -> dict:
    evicted = archive if cold else None
    ours = measure(decruft_cmd(archive), runs, cold=evicted)
    ours_dive = measure(decruft_cmd(archive, "--dive-compatible"), runs, cold=evicted)
    dive_runs = runs if dive_runs is None else dive_runs
    theirs = measure(dive_cmd(archive), dive_runs, cold=evicted, warm_up=dive_runs == runs)
    row = {
        "label": label + (" (cold cache)" if cold else ""),
        "archive_bytes": archive.stat().st_size,
        "load_average": load_average(),
        "decruft": ours,
        "decruft_dive_compatible": ours_dive,
        "dive": theirs,
        "speedup": theirs["seconds"] / ours["seconds"],
        "speedup_dive_compatible": theirs["seconds"] / ours_dive["seconds"],
        "cpu_speedup": theirs["cpu_seconds"] / ours["cpu_seconds"],
    }
    print(
        f"{row['label']}: decruft {ours['seconds']:.2f}s wall / {ours['cpu_seconds']:.2f}s cpu ({ours['rss_mb']} MB), "
        f"--dive-compatible {ours_dive['seconds']:.2f}s / {ours_dive['cpu_seconds']:.2f}s ({ours_dive['rss_mb']} MB), "
        f"dive {theirs['seconds']:.2f}s / {theirs['cpu_seconds']:.2f}s ({theirs['rss_mb']} MB) "
        f"-> {row['speedup']:.1f}x wall, {row['cpu_speedup']:.1f}x cpu  [load {row['load_average']}]",
        flush=True,
    )
    return row


# --------------------------------------------------------------------------- synthetic images


def _tree(rng: random.Random, prefix: str, files: int, total_bytes: int, big_share: float = 0.7) -> Iterator[Entry]:
    """``files`` regular files in nested directories under ``prefix``; about ``big_share`` of
    the bytes in 2% large files, the rest spread over small ones."""
    big = max(1, files // 50)
    small = files - big
    big_size = int(total_bytes * big_share) // big
    small_size = max(1, (total_bytes - big_size * big) // max(small, 1))
    made_dirs: set[str] = set()
    for index in range(files):
        directory = f"{prefix}/d{index % 97:02d}/s{index % 13}"
        parts = directory.split("/")
        for depth in range(1, len(parts) + 1):
            path = "/".join(parts[:depth])
            if path not in made_dirs:
                made_dirs.add(path)
                yield Entry(path, EntryType.DIR, mode=0o755)
        size = big_size if index < big else rng.randint(small_size // 2, small_size * 3 // 2)
        yield Entry(f"{directory}/f{index}.bin", EntryType.FILE, size=size)


def _content_block() -> bytes:
    rng = random.Random(42)
    return bytes(rng.getrandbits(8) for _ in range(1 << 20))


SHAPES = {
    # name: [(prefix, files, bytes, created_by), ...] -- three layers, about 1 GB in all
    "typical": [
        ("usr/lib/base", 6_000, 100_000_000, "ADD rootfs.tar /"),
        ("usr/local/lib/python3.11/site-packages", 14_000, 300_000_000, "RUN /bin/sh -c pip install -r requirements.txt # buildkit"),
        ("srv/app", 300, 600_000_000, "COPY . /srv/app # buildkit"),
    ],
    "few-big-files": [
        ("usr/lib/base", 6_000, 100_000_000, "ADD rootfs.tar /"),
        ("opt/app", 2_000, 50_000_000, "COPY app /opt/app # buildkit"),
        ("opt/models", 20, 850_000_000, "COPY models /opt/models # buildkit"),
    ],
    "file-heavy": [
        ("usr/lib/base", 15_000, 450_000_000, "ADD rootfs.tar /"),
        ("opt/app/deps", 10_000, 350_000_000, "RUN /bin/sh -c install deps # buildkit"),
        ("srv/app", 5_000, 200_000_000, "COPY . /srv/app # buildkit"),
    ],
}


def make_1gb(path: Path, shape: str = "typical") -> Path:
    """About 1 GB in three layers with real (non-zero, non-sparse) bytes; ``shape`` picks the
    file-size mix (see SHAPES: typical ~20,000 files, few-big-files ~8,000, file-heavy ~30,000)."""
    block = _content_block()

    def content(_layer: int, entry: Entry) -> Iterator[bytes]:
        offset = hash(entry.path) % (len(block) // 2)
        left = entry.size
        chunk = block[offset:]
        while left:
            piece = chunk[:left]
            yield piece
            left -= len(piece)
            chunk = block

    layers = [
        ArchiveLayer(lambda seed=seed, prefix=prefix, files=files, size=size: _tree(random.Random(seed), prefix, files, size), created_by)
        for seed, (prefix, files, size, created_by) in enumerate(SHAPES[shape], start=1)
    ]
    write_docker_archive(path, layers, content=content, sparse=False, hash_layers=True)
    # Written back before anything is timed: otherwise the kernel's write-back of the new
    # gigabyte runs during the first measurements, and cold runs cannot evict dirty pages.
    os.sync()
    return path


def make_whiteouts(path: Path, *, base_files: int = 20_000, deleted: int = 3_500) -> Path:
    """A base layer, a layer adding ``deleted`` files, a layer deleting them one by one."""

    def added() -> Iterator[Entry]:
        yield Entry("data", EntryType.DIR, mode=0o755)
        for index in range(deleted):
            yield Entry(f"data/f{index}", EntryType.FILE, size=1000 + index % 100)

    def removed() -> Iterator[Entry]:
        yield Entry("data", EntryType.DIR, mode=0o755)
        for index in range(deleted):
            yield Entry(f"data/f{index}", EntryType.WHITEOUT)

    layers = [
        ArchiveLayer(lambda: _tree(random.Random(7), "usr", base_files, 150_000_000), "ADD rootfs.tar /"),
        ArchiveLayer(added, "RUN /bin/sh -c make data # buildkit"),
        ArchiveLayer(removed, "RUN /bin/sh -c rm /data/f* # buildkit"),
    ]
    write_docker_archive(path, layers, sparse=True, hash_layers=True)
    return path


def make_5gb(path: Path) -> Path:
    """~5 GB, >= 200,000 files, four layers with overwrites, deleted directories and an opaque
    whiteout; file bodies are holes (sparse), so the archive costs little disk."""

    def top() -> Iterator[Entry]:
        yield Entry("usr", EntryType.DIR, mode=0o755)
        yield Entry("usr/lib", EntryType.DIR, mode=0o755)
        yield Entry("usr/lib/base", EntryType.DIR, mode=0o755)
        for index in range(40):
            yield Entry(f"usr/lib/base/d{index:02d}", EntryType.WHITEOUT)
        yield Entry("opt/app", EntryType.DIR, mode=0o755)
        yield Entry("opt/app/deps", EntryType.DIR, mode=0o755)
        yield Entry("opt/app/deps", EntryType.OPAQUE)
        yield from _tree(random.Random(14), "opt/app/deps", 5_000, 100_000_000)

    layers = [
        ArchiveLayer(lambda: _tree(random.Random(11), "usr/lib/base", 110_000, 2_600_000_000), "ADD rootfs.tar /"),
        ArchiveLayer(lambda: _tree(random.Random(12), "opt/app/deps", 60_000, 1_500_000_000), "RUN /bin/sh -c install # buildkit"),
        ArchiveLayer(lambda: _tree(random.Random(13), "srv/app", 40_000, 800_000_000), "COPY . /srv/app # buildkit"),
        ArchiveLayer(top, "RUN /bin/sh -c cleanup # buildkit"),
    ]
    write_docker_archive(path, layers, sparse=True, hash_layers=False)
    return path


def archive_entries(path: Path) -> int:
    with tarfile.open(path) as outer:
        manifest = json.load(outer.extractfile("manifest.json"))  # type: ignore[arg-type]
    total = 0
    for layer in manifest[0]["Layers"]:
        out = subprocess.run(
            f"tar -xOf {path} {layer} | tar -t | wc -l", shell=True, capture_output=True, text=True, check=True
        )
        total += int(out.stdout)
    return total


# --------------------------------------------------------------------------- sub-commands


def cmd_speed(args) -> list[dict]:
    rows = []
    work = Path(args.workdir)
    for shape in args.shapes.split(","):
        archive = work / f"decruft-bench-1gb-{shape}.tar"
        t0 = time.perf_counter()
        make_1gb(archive, shape)
        entries = archive_entries(archive)
        print(f"made {archive} ({archive.stat().st_size / 1e9:.2f} GB, {entries:,} tar entries) in {time.perf_counter() - t0:.0f}s", flush=True)
        try:
            for cold in (False, True):
                row = side_by_side(f"1 GB, 3 layers, {shape} ({entries:,} entries)", archive, args.runs, cold=cold)
                row["tar_entries"] = entries
                rows.append(row)
        finally:
            archive.unlink()
    if args.skip_whiteouts:
        return rows
    built = _saved_builtin_whiteouts(work)
    if built is not None:
        try:
            rows.append(side_by_side("BuildKit image: busybox + a layer deleting 3,500 files", built, args.runs, dive_runs=1))
        finally:
            built.unlink()
    archive = work / "decruft-bench-whiteouts.tar"
    make_whiteouts(archive, base_files=args.whiteout_base)
    try:
        rows.append(side_by_side(f"3,500 whiteouts over a {args.whiteout_base:,}-file base layer", archive, args.runs, dive_runs=1))
    finally:
        archive.unlink()
    return rows


def cmd_phases(args) -> list[dict]:
    """In one process, CPU time of reading each 1 GB archive with the compiled header loop and
    with the pure-Python one (interleaved, minimum of ``--runs``), and of the analysis."""
    from decruft.image import sources, tarstream
    from decruft.image.analysis import analyze

    rows = []
    work = Path(args.workdir)
    for shape in args.shapes.split(","):
        archive = work / f"decruft-bench-1gb-{shape}.tar"
        make_1gb(archive, shape)
        try:
            best: dict[str, float] = {}
            entries = 0
            for _ in range(args.runs):
                for mode in ("compiled", "pure"):
                    if mode == "compiled" and not tarstream.compiled_scan_available():
                        continue
                    os.environ[tarstream.PURE_PYTHON_ENV] = "1" if mode == "pure" else "0"
                    start = time.process_time()
                    image = sources.open_image(str(archive))
                    best[mode] = min(best.get(mode, 1e9), time.process_time() - start)
                    entries = sum(len(layer.entries) for layer in image.layers)
                start = time.process_time()
                analyze(image)
                best["analysis"] = min(best.get("analysis", 1e9), time.process_time() - start)
            os.environ.pop(tarstream.PURE_PYTHON_ENV, None)
            row = {"shape": shape, "entries": entries, **{f"{k}_cpu_s": round(v, 3) for k, v in best.items()}}
            per_entry = ", ".join(f"{k} {v * 1e6 / entries:.2f} us/entry" for k, v in best.items() if k != "analysis")
            print(f"{shape}: {entries:,} entries; reading: {per_entry}; analysis {best['analysis']:.3f} s CPU", flush=True)
            rows.append(row)
        finally:
            archive.unlink()
    return rows


def _saved_builtin_whiteouts(work: Path) -> Path | None:
    """A BuildKit image whose last layer deletes 3,500 files one by one, built if the engine
    answers (tests/image/docker_images.py keeps a 1,200-file variant so the tests stay fast)."""
    try:
        from tests.image.docker_images import SampleImage, build, remove, save

        image = SampleImage(
            "bench-whiteouts",
            "FROM busybox\n"
            'RUN mkdir -p /data && cd /data && i=0; while [ $i -lt 3500 ]; do echo "file $i" > f$i; i=$((i+1)); done\n'
            "RUN cd /data && rm f*\n",
        )
        with tempfile.TemporaryDirectory(dir=work) as tmp:
            tag = build(image, Path(tmp))
        try:
            return save(tag, work / "decruft-bench-whiteouts-real.tar")
        finally:
            remove([tag])
    except Exception as exc:  # no engine: the synthetic case still runs
        print(f"(skipping the BuildKit whiteout image: {exc})", flush=True)
        return None


def cmd_memory(args) -> list[dict]:
    work = Path(args.workdir)
    archive = work / "decruft-bench-5gb.tar"
    t0 = time.perf_counter()
    make_5gb(archive)
    disk = os.stat(archive).st_blocks * 512
    print(f"made {archive} ({archive.stat().st_size / 1e9:.2f} GB apparent, {disk / 1e6:.0f} MB on disk) "
          f"in {time.perf_counter() - t0:.0f}s", flush=True)
    rows = []
    try:
        entries = None if args.quick else archive_entries(archive)
        ours = measure(decruft_cmd(archive), args.runs)
        ours_dive = measure(decruft_cmd(archive, "--dive-compatible"), args.runs)
        theirs = measure(dive_cmd(archive), 1) if not args.quick else None
        row = {"label": "5 GB, >= 200,000 files (sparse)", "archive_bytes": archive.stat().st_size, "tar_entries": entries,
               "decruft": ours, "decruft_dive_compatible": ours_dive, "dive": theirs}
        print(f"5 GB: {entries} tar entries; decruft {ours['seconds']:.2f}s peak {ours['rss_mb']} MB; "
              f"--dive-compatible {ours_dive['seconds']:.2f}s peak {ours_dive['rss_mb']} MB"
              + (f"; dive {theirs['seconds']:.2f}s peak {theirs['rss_mb']} MB" if theirs else ""), flush=True)
        rows.append(row)
    finally:
        archive.unlink()
    return rows


def cmd_floor(args) -> list[dict]:
    """decruft's listing throughput against GNU ``tar -t`` on the extracted layer tars (tar seeks
    over bodies of a regular file, so this is the header-reading floor) and against streaming
    the layers through ``tar -t`` (what reading every byte costs)."""
    work = Path(args.workdir)
    archive = work / "decruft-bench-1gb.tar"
    make_1gb(archive, args.floor_shape)
    layers_dir = work / "decruft-bench-layers"
    rows = []
    try:
        layers_dir.mkdir(exist_ok=True)
        subprocess.run(["tar", "-xf", str(archive), "-C", str(layers_dir)], check=True)
        with tarfile.open(archive) as outer:
            manifest = json.load(outer.extractfile("manifest.json"))  # type: ignore[arg-type]
        layer_files = [str(layers_dir / name) for name in manifest[0]["Layers"]]
        layer_bytes = sum(os.path.getsize(p) for p in layer_files)
        list_cmd = ["sh", "-c", " && ".join(f"tar -tf {p} >/dev/null" for p in layer_files)]
        stream_cmd = ["sh", "-c", " && ".join(f"cat {p} | tar -t >/dev/null" for p in layer_files)]
        results = {
            "tar -tf (seeks)": measure(list_cmd, args.runs),
            "cat | tar -t (reads all)": measure(stream_cmd, args.runs),
            "decruft inspect": measure(decruft_cmd(archive), args.runs),
            "python import + CLI start": measure([DECRUFT, "--version"], args.runs),
            "dive --ci": measure(dive_cmd(archive), args.runs),
        }
        entries = archive_entries(archive)
        for name, result in results.items():
            result["layer_bytes_per_s"] = layer_bytes / result["seconds"]
            result["entries_per_s"] = entries / result["seconds"]
            print(f"{name:28s} {result['seconds']:.3f}s  {layer_bytes / result['seconds'] / 1e9:6.2f} GB/s  "
                  f"{entries / result['seconds']:10,.0f} entries/s  peak {result['rss_mb']} MB", flush=True)
        rows.append({"label": f"I/O floor, 1 GB 3-layer archive ({args.floor_shape})", "layer_bytes": layer_bytes, "entries": entries, "results": results})
    finally:
        archive.unlink()
        shutil.rmtree(layers_dir, ignore_errors=True)
    return rows


def cmd_compare(args) -> list[dict]:
    """dive-compatible figures against dive on every built test image and local base image."""
    from decruft.image.analysis import analyze
    from decruft.image.sources import open_image
    from tests.image.docker_images import BASES, BUILT, build, image_exists, percent_text, remove, run_dive, save

    work = Path(tempfile.mkdtemp(dir=args.workdir, prefix="decruft-compare-"))
    rows = []
    built_tags = []
    try:
        targets = []
        for image in BUILT:
            built_tags.append(build(image, work))
            targets.append((image.name, image.tag, image.note))
        targets += [(tag, tag, "base image") for tag in BASES if image_exists(tag)]
        for name, tag, note in targets:
            archive = save(tag, work / "image.tar")
            t0 = time.perf_counter()
            analysis = analyze(open_image(str(archive)), dive=True)
            ours_s = time.perf_counter() - t0
            t0 = time.perf_counter()
            theirs = run_dive(archive, work / "dive.json")
            dive_s = (time.perf_counter() - t0) / 2  # run_dive runs dive twice (--json, --ci)
            ours = analysis.dive
            row = {
                "image": name,
                "note": note,
                "layers": len(analysis.layers),
                "files": analysis.final_files,
                "size_bytes": ours.size_bytes,
                "dive": {"efficiency": theirs["efficiency"], "wasted": theirs["wasted_bytes"], "uwp": theirs["user_wasted_percent_text"],
                         "size": theirs["size_bytes"], "files": len(theirs["files"])},
                "ours": {"efficiency": ours.efficiency, "wasted": ours.wasted_bytes, "uwp": percent_text(ours.user_wasted_percent),
                         "size": ours.size_bytes, "files": len(ours.inefficient_files)},
                "match": (ours.size_bytes == theirs["size_bytes"] and ours.wasted_bytes == theirs["wasted_bytes"]
                          and abs(ours.efficiency - theirs["efficiency"]) < 1e-12
                          and percent_text(ours.user_wasted_percent) == theirs["user_wasted_percent_text"]
                          and sorted(ours.inefficient_files) == theirs["files"]),
                "reclaimable": analysis.reclaimable_bytes,
                "cruft": analysis.cruft.bytes,
                "aborted_layers": ours.aborted_layers,
                "seconds": {"decruft_in_process": ours_s, "dive": dive_s},
            }
            rows.append(row)
            print(f"{name:30s} eff {theirs['efficiency']:.6f}/{ours.efficiency:.6f} wasted {theirs['wasted_bytes']}/{ours.wasted_bytes} "
                  f"uwp {theirs['user_wasted_percent_text']}/{percent_text(ours.user_wasted_percent)} "
                  f"{'MATCH' if row['match'] else 'DIFF'}  reclaimable {analysis.reclaimable_bytes}", flush=True)
            archive.unlink()
    finally:
        remove(built_tags)
        shutil.rmtree(work, ignore_errors=True)
    return rows


def main() -> None:
    # Measure decruft as installed (byte-compiled): an editable install writes no .pyc files
    # where PYTHONDONTWRITEBYTECODE is set, and every run would compile decruft first.
    subprocess.run([sys.executable, "-m", "compileall", "-q", str(ROOT / "src")], check=True,
                   stdout=subprocess.DEVNULL)
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("what", choices=["speed", "memory", "floor", "compare", "phases", "all"])
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--workdir", default="/tmp")
    parser.add_argument("--json", dest="json_out", default=None, help="Write the raw results here.")
    parser.add_argument("--quick", action="store_true", help="memory: skip the tar entry count and dive.")
    parser.add_argument("--skip-whiteouts", action="store_true", help="speed: only the 1 GB archives.")
    parser.add_argument("--floor-shape", default="typical", help="floor: which 1 GB archive.")
    parser.add_argument("--shapes", default="typical,few-big-files,file-heavy", help="speed, phases: which 1 GB archives.")
    parser.add_argument("--whiteout-base", type=int, default=5_000,
                        help="speed: files in the base layer under the synthetic whiteouts (dive is quadratic: "
                             "20,000 takes it ~15 min here).")
    args = parser.parse_args()
    print(f"python {sys.version.split()[0]}, {os.cpu_count()} cpu(s), dive at {DIVE}, load {load_average()}", flush=True)
    results: dict[str, list[dict]] = {}
    steps = ["speed", "memory", "floor", "compare"] if args.what == "all" else [args.what]
    for step in steps:
        results[step] = globals()[f"cmd_{step}"](args)
    if args.json_out:
        Path(args.json_out).write_text(json.dumps(results, indent=2))


if __name__ == "__main__":
    main()
