"""scan.py against real BuildKit: what ``COPY . /ctx/`` puts in a ``FROM scratch`` image.

Each case builds with ``DOCKER_BUILDKIT=1 /usr/bin/docker build``, exports the image's
filesystem (``docker create`` + ``docker export``, streamed through ``tarfile``) and compares
the paths, kinds, file sizes and symlink targets under /ctx with what `scan_context` says is
sent. Needs a running engine (``scripts/docker-up``); fails without one, like every
``docker`` test.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import tarfile
import uuid
from pathlib import Path

import pytest

from decruft.context.dockerignore import BUILDKIT, DOCKER_20_10
from decruft.context.scan import DIR, FILE, SYMLINK, scan_context

from .test_scan import make_tree

pytestmark = pytest.mark.docker

DOCKER = os.environ.get("DECRUFT_DOCKER", "/usr/bin/docker")
DOCKERFILE = "FROM scratch\nCOPY . /ctx/\n"
TIMEOUT = 300


@pytest.fixture(scope="module")
def engine(docker) -> str:
    """The matcher dialect of the docker client that walks the context.

    Builds through the CLI (only it runs BuildKit here); the shared ``docker`` fixture
    fails the test when no engine answers, and so does a missing CLI.
    """
    if not shutil.which(DOCKER):
        pytest.fail(f"{DOCKER} not found (scripts/docker-up installs it)", pytrace=False)
    version = _docker("version", "--format", "{{.Client.Version}}").stdout.strip()
    major = int(version.split(".")[0]) if version.split(".")[0].isdigit() else 0
    # The CLI's built-in BuildKit client (before 23.0) vendors fsutil + pkg/fileutils.
    return DOCKER_20_10 if major < 23 else BUILDKIT


def _docker(*args: str, check: bool = True, **kwargs) -> subprocess.CompletedProcess:
    env = {**os.environ, "DOCKER_BUILDKIT": "1"}
    return subprocess.run([DOCKER, *args], capture_output=True, text=True, timeout=TIMEOUT,
                          env=env, check=check, **kwargs)


def build_and_list(context: Path, dockerfile: Path) -> dict[str, tuple] | str:
    """Build, then list /ctx of the image; the build's error text if it fails."""
    iidfile = context.parent / f"iid-{uuid.uuid4().hex}"
    built = _docker("build", "--iidfile", str(iidfile), "-f", str(dockerfile), str(context),
                    check=False)
    if built.returncode != 0:
        return built.stderr
    image = iidfile.read_text().strip()
    container = _docker("create", image, "/none").stdout.strip()
    try:
        return _export_listing(container)
    finally:
        _docker("rm", "-f", container, check=False)
        _docker("rmi", "-f", image, check=False)


def _export_listing(container: str) -> dict[str, tuple]:
    """(kind, size, link target) for every path under ctx/ in the container's filesystem."""
    listing: dict[str, tuple] = {}
    with subprocess.Popen([DOCKER, "export", container], stdout=subprocess.PIPE) as export:
        with tarfile.open(fileobj=export.stdout, mode="r|") as archive:
            for member in archive:
                name = member.name.rstrip("/")
                if not name.startswith("ctx/"):
                    continue
                listing[name[4:]] = _kind(member)
    return listing


def _kind(member: tarfile.TarInfo) -> tuple:
    if member.isdir():
        return (DIR, 0, None)
    if member.issym():
        return (SYMLINK, 0, member.linkname)
    if member.isfile():
        return (FILE, member.size, None)
    return ("other", 0, None)


def scan_listing(context: Path, dockerfile: Path, dialect: str) -> dict[str, tuple]:
    result = scan_context(context, dockerfile, dialect=dialect)
    assert not result.warnings, result.warnings
    return {e.path: (e.kind, e.size, e.target) for e in result.entries}


# (name, files, symlinks, .dockerignore text or None, Dockerfile.dockerignore beside a
#  Dockerfile outside the context or None)
CASES = [
    ("exception-reincludes-child",
     {"docs/README.md": "r", "docs/guide.md": "g", "docs/sub/x.md": "x", "src/m.py": "m"},
     {}, "docs\n!docs/README.md\n", None),
    ("fsutil-walker-test",
     {"bar": "b", "foo/bar2": "f2", "foo/other": "o", "foo2": "2"},
     {}, "foo*\n!foo/bar2\n", None),
    ("double-star",
     {"a/__pycache__/m.pyc": "p", "a/b/c.pyc": "c", "a/b/d.py": "d", "top.pyc": "t",
      "keep/x/y.pyc": "y", "keep/z.py": "z"},
     {}, "**/__pycache__\n**/*.pyc\n!keep/**/*.pyc\n", None),
    # Where the dialects differ: BuildKit's walker keeps a/c out, Docker 20.10 sends it.
    ("walker-corner-*/c-!a",
     {"a/c": "1", "a/d": "2", "b/c": "3", "b/e": "4"}, {}, "*/c\n!a\n", None),
    ("regexp-syntax-in-names",
     {"aab": "1", "a+b": "2", "abc": "3", "a(b)c": "4", "x^y": "5", "p": "6", "q": "7",
      "p|q": "8", "dist/x-1.0+g1.whl": "9", "dist/y.whl": "0"},
     {}, "a+b\na(b)c\nx^y\np|q\ndist/x-1.0+g1.whl\n", None),
    ("wildcard-exception-descends",
     {"build/x/keep.txt": "k", "build/y/z.txt": "z", "build/keep.txt": "kk", "app": "a"},
     {}, "build\n!**/keep.txt\n", None),
    ("allowlist-style",
     {"src/a.py": "a", "src/d/e.log": "e", "src/d/f.py": "f", "top.txt": "t", "Makefile": "m"},
     {}, "*\n!src\nsrc/**/*.log\n", None),
    ("symlinks-not-followed",
     {"real/a": "a", "real/skip.tmp": "s", "other": "o"},
     {"to-real": "real", "dangling": "nowhere", "to-etc": "/etc", "real/up": "..",
      "self": "self"}, "real/*.tmp\n", None),
    ("comments-spaces-slashes",
     {"# not-comment": "c", "x/y/z": "z", "x/w": "w", "trail/t": "t", "k": "k"},
     {}, "# real comment\n  # not-comment\n/x/y/\n  trail/  \n", None),
    ("dockerfile-specific-ignore-wins",
     {"a.txt": "a", "b.md": "b", "sub/c.md": "c"}, {}, "*.txt\n", "*.md\n"),
]


@pytest.mark.parametrize("name,files,symlinks,ignore,specific", CASES, ids=[c[0] for c in CASES])
def test_scan_matches_buildkit(engine, tmp_path, name, files, symlinks, ignore, specific):
    context = make_tree(tmp_path / "ctx", files)
    for link, target in symlinks.items():
        (context / link).symlink_to(target)
    if ignore is not None:
        (context / ".dockerignore").write_text(ignore)
    if specific is not None:
        dockerfile = make_tree(tmp_path / "df", {"app.Dockerfile": DOCKERFILE}) / "app.Dockerfile"
        (tmp_path / "df" / "app.Dockerfile.dockerignore").write_text(specific)
    else:
        dockerfile = context / "Dockerfile"
        dockerfile.write_text(DOCKERFILE)
    image = build_and_list(context, dockerfile)
    assert isinstance(image, dict), f"build failed: {image}"
    assert scan_listing(context, dockerfile, engine) == image
    # The other dialect must agree wherever the two do not knowingly differ.
    other = BUILDKIT if engine == DOCKER_20_10 else DOCKER_20_10
    same = scan_listing(context, dockerfile, other) == image
    assert same is (name not in DIALECT_SENSITIVE), f"{other} unexpectedly {'same' if same else 'different'}"


# Cases where BuildKit (patternmatcher v0.6.1) and Docker 20.10's client send different files.
DIALECT_SENSITIVE = {"walker-corner-*/c-!a", "regexp-syntax-in-names", "wildcard-exception-descends"}

FAILING_CASES = [
    # (name, .dockerignore, does the build fail? {dialect: bool})
    ("malformed-class", "[\n", {BUILDKIT: True, DOCKER_20_10: True}),
    ("bare-exclamation", "!\n", {BUILDKIT: True, DOCKER_20_10: True}),
    ("bad-regexp-reached", "a\n!x[z-a]\n", {BUILDKIT: True, DOCKER_20_10: True}),
    # v0.6.1 never evaluates an exception before something matched; 20.10 evaluates all.
    ("bad-regexp-never-reached", "!x[z-a]\n", {BUILDKIT: False, DOCKER_20_10: True}),
]


@pytest.mark.parametrize("name,ignore,fails", FAILING_CASES, ids=[c[0] for c in FAILING_CASES])
def test_build_failures_match_buildkit(engine, tmp_path, name, ignore, fails):
    context = make_tree(tmp_path / "ctx", {"a": "a", "b": "b", ".dockerignore": ignore,
                                           "Dockerfile": DOCKERFILE})
    image = build_and_list(context, context / "Dockerfile")
    assert isinstance(image, str) is fails[engine], image
    assert scan_context(context, dialect=engine).would_fail_build is fails[engine]
