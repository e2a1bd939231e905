"""Fix benchmark: `decruft fix --unsafe --verify` on every example, then cold builds of both.

For each ``examples/<name>/`` (with a ``Dockerfile`` and a ``smoke.json``):

1. copy the example to a temporary directory twice (``original/`` stays as it is,
   ``fixed/`` is fixed); ``make-junk.sh`` runs first where there is one;
2. in ``fixed/``: ``decruft fix --unsafe --verify --smoke-spec smoke.json Dockerfile``
   (the library call `decruft.fix.verify.verify_file`, the same code path): fixes are
   verified on the real engine and only the passing ones are written;
3. build ``original/`` and ``fixed/`` cold (``--no-cache``; the base images are local),
   one after the other, and record the image size (``docker image inspect`` ``Size``,
   uncompressed) and the build's wall time;
4. run the smoke check of ``smoke.json`` on both cold-built images (HTTP GET on ``port``
   or ``command``; ``expect`` must be in the answer; same status / exit code / output;
   files under WORKDIR compared) -- a behaviour change counts as a failure;
5. audit the fixed Dockerfile: the biggest findings left without an automatic fix.

The per-example table and the average size reduction go to ``benchmarks/RESULTS.md``
under "## Fix" (that section only is replaced). Every image and container it creates is
labelled ``decruft-verify=<token>`` and removed afterwards.

    .venv/bin/python benchmarks/bench_fix.py                 # all examples
    .venv/bin/python benchmarks/bench_fix.py --only go-app   # one (repeatable)
    .venv/bin/python benchmarks/bench_fix.py --no-write      # do not touch RESULTS.md
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import secrets
import shutil
import subprocess
import sys
import tempfile
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "src"))

from decruft.audit import AuditOptions, audit_source  # noqa: E402
from decruft.audit.config import AuditConfig  # noqa: E402
from decruft.audit.rule import format_bytes  # noqa: E402
from decruft.fix import FixOptions  # noqa: E402
from decruft.fix.verify import (  # noqa: E402
    LABEL,
    PREFIX,
    DockerEngine,
    SmokeSpec,
    VerifyOptions,
    compare_images,
    verify_file,
)

COMMAND = "decruft fix --unsafe --verify --smoke-spec smoke.json Dockerfile"


@dataclass
class Row:
    name: str
    base: str = ""
    original_size: int = 0
    fixed_size: int = 0
    original_seconds: float = 0.0
    fixed_seconds: float = 0.0
    applied: list[str] = field(default_factory=list)
    rejected: list[str] = field(default_factory=list)
    smoke: str = ""
    smoke_passed: bool = False
    verify_builds: int = 0
    verify_seconds: float = 0.0
    left: list[str] = field(default_factory=list)
    error: str = ""

    @property
    def reduction(self) -> float:
        return 1 - self.fixed_size / self.original_size if self.original_size else 0.0


def log(message: str) -> None:
    print(f"[{time.strftime('%H:%M:%S')}] {message}", file=sys.stderr, flush=True)


def prepare(example: Path, into: Path) -> Path:
    shutil.copytree(example, into, symlinks=True)
    junk = into / "make-junk.sh"
    if junk.exists():
        subprocess.run(["bash", str(junk)], check=True, cwd=into)
    return into


def base_of(text: str) -> str:
    import decruft

    try:
        model = decruft.parse(text).model
        return model.stages[-1].base_resolved or "?"
    except Exception:  # noqa: BLE001 - only a label
        return "?"


def left_findings(dockerfile: Path, context: Path, limit: int = 3) -> list[str]:
    """The biggest findings the fixed file still has that no automatic fix handles."""
    text = dockerfile.read_text()
    options = AuditOptions(config=AuditConfig(), context=str(context), scan_context=True)
    found = audit_source(text, str(dockerfile), options, context).findings
    manual = [f for f in found if f.fix is None or not f.fix.edits]
    manual.sort(key=lambda f: -(f.stake.bytes or 0) if f.stake else 0)
    out = []
    for finding in manual[:limit]:
        size = f" ~{format_bytes(finding.stake.bytes)}" if finding.stake and finding.stake.bytes else ""
        out.append(f"{finding.code}{size}")
    return out


def run_example(example: Path, engine: DockerEngine, token: str, workdir: Path) -> Row:
    name = example.name
    row = Row(name)
    spec = SmokeSpec.from_file(example / "smoke.json")
    original = prepare(example, workdir / name / "original")
    fixed = prepare(example, workdir / name / "fixed")
    row.base = base_of((original / "Dockerfile").read_text())
    os.environ["DECRUFT_VERIFY_TOKEN"] = f"{token}v{name.replace('-', '')}"[:32]
    log(f"{name}: {COMMAND}")
    started = time.perf_counter()
    try:
        result = verify_file(fixed / "Dockerfile", FixOptions(unsafe=True),
                             VerifyOptions(smoke=spec, on_progress=lambda m: log(f"{name}:   {m}")), engine=engine,
                             backup=False)
    finally:
        os.environ.pop("DECRUFT_VERIFY_TOKEN", None)
    row.verify_seconds = time.perf_counter() - started
    row.verify_builds = result.builds
    row.applied = sorted(dict.fromkeys(a.code for a in result.fix.applied))
    row.rejected = [f"{r.code}: {r.reason}" for r in result.rejected]
    for rejected in result.rejected:
        log(f"{name}: rejected {rejected.code}: {rejected.reason}\n{rejected.detail}")
    labels = {LABEL: token}
    tags = [f"{PREFIX}-{token}-{name}:original", f"{PREFIX}-{token}-{name}:fixed"]
    try:
        log(f"{name}: cold build of the original")
        before = engine.build(context=original, dockerfile=original / "Dockerfile", tag=tags[0], build_args={},
                              target=None, no_cache=True, labels=labels)
        log(f"{name}: cold build of the fixed Dockerfile")
        after = engine.build(context=fixed, dockerfile=fixed / "Dockerfile", tag=tags[1], build_args={},
                             target=None, no_cache=True, labels=labels)
        row.original_size, row.original_seconds = before.size, before.build_seconds
        row.fixed_size, row.fixed_seconds = after.size, after.build_seconds
        old_ignore = _read(original / ".dockerignore")
        new_ignore = _read(fixed / ".dockerignore")
        log(f"{name}: smoke check of both cold-built images")
        comparison = compare_images(before, after, spec, engine=engine, old_ignore=old_ignore, new_ignore=new_ignore)
        row.smoke_passed = comparison.passed
        row.smoke = "same" if comparison.passed else comparison.reason
        if comparison.passed:
            probe = comparison.fixed.run.probe
            row.smoke = (f"{probe.describe()}, {spec.expect!r} found" if probe is not None and spec.expect
                         else f"{comparison.fixed.run.describe()}, same")
        else:
            log(f"{name}: SMOKE FAILED: {comparison.reason}\n{comparison.detail}")
    finally:
        for tag in tags:
            try:
                engine.remove_image(tag)
            except Exception:  # noqa: BLE001 - best effort; sweep below
                pass
        engine.sweep(token)
    row.left = left_findings(fixed / "Dockerfile", fixed)
    log(f"{name}: {format_bytes(row.original_size)} -> {format_bytes(row.fixed_size)} "
        f"(-{row.reduction * 100:.1f} %), smoke: {row.smoke}")
    return row


def _read(path: Path) -> str | None:
    return path.read_text(encoding="utf-8", errors="surrogateescape") if path.exists() else None


def table(rows: list[Row]) -> str:
    lines = [
        "| example | base | original | fixed | smaller | cold build original | cold build fixed | smoke | fixes applied | rejected by --verify | biggest left (no automatic fix) |",
        "| --- | --- | ---: | ---: | ---: | ---: | ---: | --- | --- | --- | --- |",
    ]
    for row in rows:
        if row.error:
            lines.append(f"| {row.name} | `{row.base}` | | | | | | not measured: {row.error} | | | |")
            continue
        lines.append(
            f"| {row.name} | `{row.base}` | {format_bytes(row.original_size)} | {format_bytes(row.fixed_size)} | "
            f"{row.reduction * 100:.1f} % | {row.original_seconds:.1f} s | {row.fixed_seconds:.1f} s | "
            f"{'pass' if row.smoke_passed else '**FAIL**'}: {row.smoke} | {', '.join(row.applied) or '-'} | "
            f"{'; '.join(row.rejected) or '-'} | {', '.join(row.left) or '-'} |"
        )
    return "\n".join(lines)


def section(rows: list[Row], started: float) -> str:
    good = [row for row in rows if not row.error]
    average = sum(row.reduction for row in good) / len(good) if good else 0.0
    total_before = sum(row.original_size for row in good)
    total_after = sum(row.fixed_size for row in good)
    changes = sum(1 for row in good if not row.smoke_passed)
    load = os.getloadavg()[0]
    verify_total = sum(row.verify_seconds for row in good)
    cold_before = sum(row.original_seconds for row in good)
    cold_after = sum(row.fixed_seconds for row in good)
    notes = []
    for row in rows:
        if row.error:
            notes.append(f"- {row.name}: not measured: {row.error}.")
        elif row.reduction < 0.25:
            notes.append(
                f"- {row.name} is only {row.reduction * 100:.1f} % smaller: what is left has no automatic fix "
                f"({', '.join(row.left) or 'nothing reported'})."
            )
    gaps = "\n".join(notes)
    return f"""## Fix

Command (from the repository root; about {((time.perf_counter() - started) / 60):.0f} minutes here):

    .venv/bin/python benchmarks/bench_fix.py

For each example, in a temporary copy (after `make-junk.sh` where there is one):
`{COMMAND}` (fixes verified on the engine, only passing ones written), then the
original and the fixed Dockerfile built cold (`--no-cache`, local base images) one after the
other, then the `smoke.json` check on both cold-built images (HTTP answer / exit code and
output, `expect` in the answer, files under WORKDIR compared). Sizes are `docker image
inspect` `Size` (uncompressed). Docker {engine_version()} with its built-in BuildKit, Python
{platform.python_version()}, load average {load:.1f} at the end (2 cores shared with other
sessions: build times are indicative).

{table(rows)}

- **Average size reduction: {average * 100:.1f} %** per image (goal >= 25 %); all images
  together {format_bytes(total_before)} -> {format_bytes(total_after)}
  ({(1 - total_after / total_before) * 100 if total_before else 0:.1f} % smaller).
- Behaviour changes after fixing: **{changes}** (goal 0).
- Cold builds, all examples: {cold_before:.0f} s original, {cold_after:.0f} s fixed.
  `--verify` itself took {verify_total:.0f} s in all ({sum(r.verify_builds for r in good)} builds, warm cache).
{gaps}
"""


def engine_version() -> str:
    try:
        out = subprocess.run(["docker", "version", "--format", "{{.Server.Version}}"], capture_output=True,
                             text=True, timeout=30)
        return out.stdout.strip() or "?"
    except OSError:
        return "?"


def write_results(text: str, path: Path) -> None:
    current = path.read_text() if path.exists() else "# Benchmark results\n"
    start = current.find("\n## Fix\n")
    if start < 0:
        updated = current.rstrip("\n") + "\n\n" + text
    else:
        end = current.find("\n## ", start + 1)
        updated = current[: start + 1] + text + (current[end:] if end >= 0 else "")
    path.write_text(updated if updated.endswith("\n") else updated + "\n")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--only", action="append", default=[], help="example name (repeatable)")
    parser.add_argument("--no-write", action="store_true", help="do not update benchmarks/RESULTS.md")
    parser.add_argument("--json", type=Path, default=None, help="also write the rows as JSON here")
    parser.add_argument("--from-json", type=Path, default=None,
                        help="do not run: rebuild the section from rows saved with --json")
    parser.add_argument("--minutes", type=float, default=None, help="with --from-json: the run's duration")
    args = parser.parse_args(argv)
    started = time.perf_counter()
    if args.from_json:
        rows = [Row(**{k: v for k, v in row.items() if k != "reduction"}) for row in json.loads(args.from_json.read_text())]
        text = section(rows, started - (args.minutes or 0) * 60)
        print(text)
        if not args.no_write:
            write_results(text, ROOT / "benchmarks" / "RESULTS.md")
        return 0
    examples = sorted(p.parent for p in (ROOT / "examples").glob("*/Dockerfile") if (p.parent / "smoke.json").exists())
    if args.only:
        examples = [e for e in examples if e.name in args.only]
    engine = DockerEngine()
    token = "bench" + secrets.token_hex(3)
    rows: list[Row] = []
    with tempfile.TemporaryDirectory(prefix="decruft-bench-fix-") as tmp:
        for example in examples:
            try:
                rows.append(run_example(example, engine, token, Path(tmp)))
            except KeyboardInterrupt:
                engine.sweep(token)
                raise
            except Exception as exc:  # noqa: BLE001 - one broken example must not stop the run
                log(f"{example.name}: ERROR {type(exc).__name__}: {exc}")
                lines = [line for line in str(exc).splitlines() if line.strip()]
                what = lines[0].split(": ", 1)[-1][:160]
                if "original does not build" in what:
                    what = "the original does not build on this engine"
                cause = f" (`{lines[-1].strip().rsplit(': ', 2)[-2:][0][:80]}: {lines[-1].rsplit(': ', 1)[-1][:80]}`)" if len(lines) > 1 else ""
                source = (example / "Dockerfile").read_text()
                if "unknown instruction" in str(exc) and "<<" in source:
                    cause += (": this engine's Dockerfile frontend predates heredocs (dockerfile 1.4+; a "
                              "`# syntax=` line would fetch one from Docker Hub, unreachable here)")
                rows.append(Row(example.name, base=base_of(source), error=f"{what}{cause}"))
                engine.sweep(token)
    text = section(rows, started)
    print(text)
    if args.json:
        args.json.write_text(json.dumps([asdict(row) | {"reduction": row.reduction} for row in rows], indent=2))
    if not args.no_write and not args.only:
        write_results(text, ROOT / "benchmarks" / "RESULTS.md")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
