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


def test_one_input(data: bytes) -> None:
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
    if not any(corpus_dir.glob("seed-*")):
        n = write_seeds(corpus_dir)
        print(f"wrote {n} seed files to {corpus_dir}", file=sys.stderr)
    if not any(not a.startswith("-") for a in argv[1:]):
        argv.append(str(corpus_dir))
    atheris.Setup(argv, test_one_input)
    atheris.Fuzz()


if __name__ == "__main__":
    main()
