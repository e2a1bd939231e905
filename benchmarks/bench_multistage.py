"""Multi-stage benchmark: `decruft fix --multistage` on every example, then cold builds of both.

For each ``examples/<name>/`` with a ``Dockerfile`` and a ``smoke.json``:

1. copy the example to a temporary directory (``make-junk.sh`` runs first where there is one);
2. convert it with `decruft.multistage.convert.convert_file` (the code path of
   ``decruft fix --multistage --smoke-spec smoke.json Dockerfile``, without writing): the
   original and the converted file are built with BuildKit, the runtime packages inferred, the
   smoke check of ``smoke.json`` and the ecosystem checks run in both images;
3. for a verified conversion, build the original and the converted file again cold
   (``--no-cache``, one after the other; base images are local) for the build times;
4. count the installed packages of both images (dpkg/apk/rpm database).

A conversion that fails verification counts as "not converted" (with its reason); its size
change counts as 0 % in the all-apps average. The table goes to ``benchmarks/RESULTS.md`` under
"## Multi-stage conversion" (that section only is replaced or appended).

    .venv/bin/python benchmarks/bench_multistage.py                  # all examples
    .venv/bin/python benchmarks/bench_multistage.py --only go-app    # one (repeatable)
    .venv/bin/python benchmarks/bench_multistage.py --no-cold        # skip the cold rebuilds
    .venv/bin/python benchmarks/bench_multistage.py --json out.json  # also keep the raw numbers
    .venv/bin/python benchmarks/bench_multistage.py --from-json out.json  # re-render only
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import shutil
import subprocess
import sys
import tempfile
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "src"))

from decruft.audit.rule import format_bytes  # noqa: E402
from decruft.fix.verify import DockerEngine, SmokeSpec, _Session  # noqa: E402
from decruft.multistage.convert import PREFIX, ConvertOptions, convert_file  # noqa: E402

COMMAND = "decruft fix --multistage --smoke-spec smoke.json Dockerfile"
SECTION = "## Multi-stage conversion"


@dataclass
class Row:
    name: str
    converted: bool
    ecosystem: str = ""
    runtime_base: str = ""
    reason: str = ""
    size_before: int | None = None
    size_after: int | None = None
    cold_before: float | None = None
    cold_after: float | None = None
    packages_before: int | None = None
    packages_after: int | None = None
    inferred: list[str] = field(default_factory=list)
    smoke: str = ""
    seconds: float = 0.0
    detail: str = ""

    @property
    def reduction(self) -> float:
        if not self.converted or not self.size_before or self.size_after is None:
            return 0.0
        return 1 - self.size_after / self.size_before


def examples(only: list[str]) -> list[Path]:
    found = sorted(p for p in (ROOT / "examples").iterdir() if (p / "Dockerfile").exists() and (p / "smoke.json").exists())
    return [p for p in found if not only or p.name in only]


def run_one(example: Path, cold: bool, engine: DockerEngine) -> Row:
    started = time.perf_counter()
    with tempfile.TemporaryDirectory(prefix="decruft-ms-bench-") as tmp:
        work = Path(tmp) / example.name
        shutil.copytree(example, work, symlinks=True)
        if (work / "make-junk.sh").exists():
            subprocess.run(["bash", "make-junk.sh"], cwd=work, check=True, capture_output=True)
        spec = SmokeSpec.from_file(work / "smoke.json")
        conversion = convert_file(work / "Dockerfile", ConvertOptions(
            smoke=spec, write=False, on_progress=lambda m: print(f"  {example.name}: {m}", flush=True)), engine=engine)
        row = Row(example.name, conversion.converted, reason=conversion.reason, detail=conversion.detail[-800:],
                  runtime_base=conversion.runtime_base,
                  ecosystem=conversion.plan.ecosystem if conversion.plan else "")
        if conversion.original is not None:
            row.size_before = conversion.original.size
        if conversion.converted:
            row.size_after = conversion.result.size
            row.packages_before, row.packages_after = conversion.packages_before, conversion.packages_after
            row.inferred = list(conversion.needs.packages) if conversion.needs else []
            run = conversion.comparison.fixed.run if conversion.comparison else None
            checks = ", ".join(c.name for c in conversion.checks)
            row.smoke = "pass" + (f" ({run.describe()}" + (f"; {checks}" if checks else "") + ")" if run else "")
            if cold:
                converted = work / "Dockerfile.multistage"
                converted.write_text(conversion.text)
                row.cold_before, row.cold_after = cold_builds(engine, work, work / "Dockerfile", converted)
        else:
            row.smoke = "-"
    row.seconds = time.perf_counter() - started
    return row


def cold_builds(engine: DockerEngine, context: Path, original: Path, converted: Path) -> tuple[float, float]:
    """Wall time of ``--no-cache`` builds of both files (the images are removed afterwards)."""
    session = _Session(engine, None, PREFIX + "-bench")
    try:
        times = []
        for file, label in ((original, "original-cold"), (converted, "converted-cold")):
            print(f"  {context.name}: cold build of {label}", flush=True)
            facts = engine.build(context=context, dockerfile=file, tag=session.tag(label), build_args={},
                                 target=None, no_cache=True, labels=session.labels)
            times.append(facts.build_seconds)
        return times[0], times[1]
    finally:
        session.close()


ENGINE_TROUBLE = ("Cannot connect to the Docker daemon", "did not provide an image ID", "Connection refused",
                  "connection reset", "Connection aborted", "EOF")


def engine_failed(row: Row) -> bool:
    return not row.converted and any(text in row.detail for text in ENGINE_TROUBLE)


def wait_for_engine(limit: float = 600.0) -> None:
    from decruft.engine import clear_probe_cache, engine_reachable

    deadline = time.monotonic() + limit
    while time.monotonic() < deadline and not engine_reachable():
        time.sleep(10)
    time.sleep(5)
    clear_probe_cache()


def _seconds(value: float | None) -> str:
    return "-" if value is None else f"{value:.0f} s"


def render(rows: list[Row], meta: dict) -> str:
    converted = [r for r in rows if r.converted]
    lines = [
        SECTION, "",
        f"`benchmarks/bench_multistage.py`: `{COMMAND}` on every example (the library call "
        "`decruft.multistage.convert.convert_file`, same code path, nothing written), then cold builds "
        "(`--no-cache`) of the original and the converted file. Sizes are uncompressed (`docker image inspect` "
        "`Size`); packages are the image's dpkg database entries; \"inferred\" are the runtime packages the "
        "conversion found from the artifacts' DT_NEEDED (beyond the runtime base and the packages the build "
        "itself installed for the service).", "",
        f"Command: `{meta['command']}` (rerun: `.venv/bin/python benchmarks/bench_multistage.py`, which "
        "writes this section; `--json FILE` keeps the raw numbers, `--from-json FILE` re-renders them)  ",
        f"Host: {meta['host']}; engine {meta['engine']}; load average {meta['load_start']} at the start, "
        f"{meta['load_end']} at the end (2 cores shared with other builds).", "",
        "| app | ecosystem | runtime base | size before | size after | change | cold build before | cold build after "
        "| packages (removed) | inferred runtime packages | smoke |",
        "| --- | --- | --- | ---: | ---: | ---: | ---: | ---: | --- | --- | --- |",
    ]
    for row in rows:
        if row.converted:
            removed = (f"{row.packages_before} -> {row.packages_after} ({row.packages_before - row.packages_after})"
                       if row.packages_before is not None and row.packages_after is not None else "-")
            lines.append(
                f"| {row.name} | {row.ecosystem} | {row.runtime_base} | {format_bytes(row.size_before)} | "
                f"{format_bytes(row.size_after)} | {-row.reduction * 100:+.1f} % | {_seconds(row.cold_before)} | "
                f"{_seconds(row.cold_after)} | {removed} | {', '.join(row.inferred) or '-'} | {row.smoke} |"
            )
        else:
            size = format_bytes(row.size_before) if row.size_before else "-"
            lines.append(f"| {row.name} | {row.ecosystem or '-'} | - | {size} | - | - | - | - | - | - | "
                         f"not converted: {row.reason} |")
    total = len(rows)
    average_converted = sum(r.reduction for r in converted) / len(converted) if converted else 0.0
    average_all = sum(r.reduction for r in rows) / total if total else 0.0
    before = sum(r.size_before for r in converted if r.size_before)
    after = sum(r.size_after for r in converted if r.size_after)
    lines += [
        "",
        f"Verified conversions: {len(converted)} of {total} ({len(converted) / total * 100:.0f} %). "
        f"Average size reduction: {average_converted * 100:.1f} % over the converted apps, "
        f"{average_all * 100:.1f} % over all apps (a file left alone counts 0 %); total "
        f"{format_bytes(before)} -> {format_bytes(after)} for the converted ones. "
        "Smoke-check regressions written: 0 (a conversion whose smoke check or ecosystem checks differ is "
        "never written; it appears above as not converted).",
        "",
        "Notes:",
        "",
        "* \"cold build after\" builds both stages of the converted file with `--no-cache`: the build stage "
        "repeats the original's steps (plus the venv, prune, staging or `DESTDIR` install it adds), and BuildKit "
        "builds the runtime stage's package install in parallel with it; the difference to \"before\" is what "
        "the conversion costs per cold build. The two cold builds run one after the other (original first) on "
        "2 cores shared with other engineers' builds; package downloads may be faster the second time (mirror "
        "caches), so single differences of a few tens of percent are noise, not a gain of the conversion.",
        "* Runtime packages are only the ones the artifacts' ELF files need beyond the runtime base (and, for "
        "apt-installed services, R from apt and Java from apt, the runtime package the build installed). "
        "The packages column counts the dpkg database (0 for a base without one).",
        "* A file that is not converted is left byte-identical; the reason is the line `decruft fix --multistage` "
        "prints.",
        "",
    ]
    return "\n".join(lines)


def write_section(text: str) -> None:
    path = ROOT / "benchmarks" / "RESULTS.md"
    current = path.read_text()
    start = current.find(SECTION)
    if start < 0:
        path.write_text(current.rstrip("\n") + "\n\n" + text)
        return
    following = current.find("\n## ", start + len(SECTION))
    end = len(current) if following < 0 else following + 1
    path.write_text(current[:start] + text + ("\n" if following >= 0 else "") + current[end:])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--only", action="append", default=[])
    parser.add_argument("--no-cold", action="store_true")
    parser.add_argument("--no-write", action="store_true")
    parser.add_argument("--json", default=None)
    parser.add_argument("--from-json", default=None)
    args = parser.parse_args()
    if args.from_json:
        data = json.loads(Path(args.from_json).read_text())
        rows = [Row(**row) for row in data["rows"]]
        meta = data["meta"]
    else:
        load_start = " ".join(f"{v:.2f}" for v in os.getloadavg())
        engine = DockerEngine()
        rows = []
        previous: dict[str, Row] = {}
        if args.json and args.only and Path(args.json).exists():
            # --only with an existing --json: rerun those apps, keep the other rows
            previous = {row["name"]: Row(**row) for row in json.loads(Path(args.json).read_text())["rows"]}
        for example in examples(args.only):
            print(f"{example.name}: converting", flush=True)
            for attempt in (1, 2):
                try:
                    row = run_one(example, not args.no_cold, engine)
                except Exception as exc:  # one broken app must not lose the others' numbers
                    row = Row(example.name, False, reason=f"benchmark error: {type(exc).__name__}",
                              detail=str(exc)[-800:])
                if attempt == 1 and engine_failed(row):
                    # Docker 20.10's BuildKit can crash the daemon under concurrent builds
                    # (moby/moby#42414 "panic: failed to get edge"): wait for it, retry once.
                    print(f"{example.name}: the engine failed ({row.detail[-200:]!r}); waiting and retrying", flush=True)
                    wait_for_engine()
                    engine = DockerEngine()
                    continue
                break
            print(f"{example.name}: {'converted' if row.converted else 'not converted: ' + row.reason} "
                  f"({row.seconds:.0f} s)", flush=True)
            rows.append(row)
        if previous:
            done = {row.name for row in rows}
            rows = sorted(rows + [row for name, row in previous.items() if name not in done], key=lambda r: r.name)
        meta = {
            "command": "python benchmarks/bench_multistage.py " + " ".join(sys.argv[1:]),
            "host": f"{platform.system()} {platform.machine()}, {os.cpu_count()} CPUs",
            "engine": engine.description,
            "load_start": load_start,
            "load_end": " ".join(f"{v:.2f}" for v in os.getloadavg()),
        }
        if args.json:
            Path(args.json).write_text(json.dumps({"rows": [asdict(r) for r in rows], "meta": meta}, indent=2))
    text = render(rows, meta)
    print(text)
    if not args.no_write:
        write_section(text)


if __name__ == "__main__":
    main()
