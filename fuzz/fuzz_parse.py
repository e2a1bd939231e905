"""Coverage-guided fuzzing of decruft's Dockerfile parser with atheris (libFuzzer).

Property: for any byte string, ``decruft.parse`` either returns a Dockerfile whose
``to_bytes()`` is exactly the input, or raises ``DockerfileSyntaxError``; nothing
else (no other exception, no hang).  The lazily computed views BuildKit-compatibility
relies on (flags, value, JSON-ness, heredocs, ONBUILD trigger) are evaluated too.

Run (from the repository root, with ``.venv/bin/pip install atheris``)::

    .venv/bin/python fuzz/fuzz_parse.py -atheris_runs=1000000 -max_len=4096

The seed corpus is the deterministic generator's output (tests/corpus/generate.py)
plus the real-world files, written to a working directory (default
``$TMPDIR/decruft-fuzz-corpus``, or ``--corpus DIR``) that libFuzzer extends with
new coverage.  A crash leaves ``crash-<sha1>`` in the current directory; copy it
to tests/corpus/crashes/ (tests/test_roundtrip.py replays that folder).

``--keep-going DIR`` records the first input of each distinct failure (exception
type + raising line) in DIR and carries on, so a long run can count executions and
collect every bug at once instead of stopping at the first.
"""

from __future__ import annotations

import importlib.util
import os
import sys
import tempfile
from pathlib import Path

import atheris

ROOT = Path(__file__).resolve().parent.parent

with atheris.instrument_imports(include=["decruft"]):
    import decruft
    from decruft.errors import DockerfileSyntaxError


KEEP_GOING: Path | None = None  # --keep-going DIR: record distinct failures, do not stop
SEEN: set[str] = set()


def test_one_input(data: bytes) -> None:
    if KEEP_GOING is None:
        check(data)
        return
    try:
        check(data)
    except Exception as exc:  # noqa: BLE001 - recorded, one file per distinct failure
        import hashlib
        import traceback

        frames = traceback.extract_tb(exc.__traceback__)
        where = f"{Path(frames[-1].filename).name}:{frames[-1].lineno}" if frames else "?"
        signature = f"{type(exc).__name__}@{where}"
        if signature not in SEEN:
            SEEN.add(signature)
            KEEP_GOING.mkdir(parents=True, exist_ok=True)
            name = f"crash-{signature.replace(':', '-').replace('@', '-')}-{hashlib.sha1(data).hexdigest()[:12]}"
            (KEEP_GOING / name).write_bytes(data)
            print(f"\n=== new failure {signature}: {exc!r}\n    input saved as {KEEP_GOING / name}",
                  file=sys.stderr, flush=True)


def check(data: bytes) -> None:
    try:
        df = decruft.parse(data)
    except DockerfileSyntaxError as exc:
        if exc.line < 1 or exc.column < 1:
            raise AssertionError(f"bad error position: {exc!r}") from None
        return
    out = df.to_bytes()
    if out != data:
        raise AssertionError(f"round trip changed the input: {data[:200]!r} -> {out[:200]!r}")
    for ins in df.instructions:
        ins.buildkit_flags
        ins.buildkit_value
        ins.is_json
        ins.logical_line
        for heredoc in ins.heredocs:
            heredoc.content
        if ins.onbuild_inner is not None:
            ins.onbuild_inner.buildkit_value
            ins.onbuild_inner.is_json


def write_seeds(directory: Path) -> int:
    spec = importlib.util.spec_from_file_location("decruft_corpus_generate", ROOT / "tests" / "corpus" / "generate.py")
    gen = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(gen)  # type: ignore[union-attr]
    directory.mkdir(parents=True, exist_ok=True)
    files = gen.corpus()
    for name, data in files:
        (directory / f"seed-{name}").write_bytes(data[:4096])
    return len(files)


def main() -> None:
    argv = list(sys.argv)
    corpus_dir = Path(os.environ.get("TMPDIR", tempfile.gettempdir())) / "decruft-fuzz-corpus"
    if "--corpus" in argv:
        i = argv.index("--corpus")
        corpus_dir = Path(argv[i + 1])
        del argv[i : i + 2]
    global KEEP_GOING
    if "--keep-going" in argv:
        i = argv.index("--keep-going")
        KEEP_GOING = Path(argv[i + 1])
        del argv[i : i + 2]
    if not any(corpus_dir.glob("seed-*")):
        n = write_seeds(corpus_dir)
        print(f"wrote {n} seed files to {corpus_dir}", file=sys.stderr)
    if not any(not a.startswith("-") for a in argv[1:]):
        argv.append(str(corpus_dir))
    atheris.Setup(argv, test_one_input)
    atheris.Fuzz()


if __name__ == "__main__":
    main()
