"""Step counting, the CI cache strategy and its command lines, registry errors (no engine needed)."""

from __future__ import annotations

import socket

import pytest

from decruft.bench.engine import (
    RegistryUnreachableError,
    _parse_time,
    cache_arguments,
    cache_strategy,
    check_registry,
    rerun_steps,
    split_reference,
    step_counts,
)
from decruft.engine.buildkit import BuildPath, BuildResult

LOG = """#1 [internal] load build definition from Dockerfile
#1 DONE 0.0s
#2 [internal] load metadata for docker.io/library/python:3.11
#2 DONE 0.0s
#3 [1/5] FROM docker.io/library/python:3.11
#3 CACHED
#4 [internal] load build context
#4 DONE 0.1s
#5 [2/5] WORKDIR /app
#5 CACHED
#6 [3/5] COPY requirements.txt .
#6 CACHED
#7 [4/5] RUN pip install -r requirements.txt
#7 CACHED
#8 [5/5] COPY . .
#8 DONE 0.1s
#9 [builder 2/3] RUN go build ./...
#9 0.5 compiling
#9 DONE 3.0s
#10 exporting to image
#10 DONE 0.2s
"""


def test_step_counts_count_instructions_only():
    path = BuildPath("/usr/bin/docker", "builtin", {"DOCKER_BUILDKIT": "1"})
    counts = step_counts(BuildResult("sha256:x", (), LOG, 1.0, path, ()))
    # WORKDIR, COPY, RUN, COPY, builder RUN; FROM, internal steps and the export are not instructions.
    assert (counts.total, counts.cached, counts.rerun) == (5, 3, 2)


def test_rerun_steps_are_the_steps_that_ran_slowest_first():
    path = BuildPath("/usr/bin/docker", "builtin", {"DOCKER_BUILDKIT": "1"})
    steps = rerun_steps(BuildResult("sha256:x", (), LOG, 1.0, path, ()))
    assert steps == [("[builder 2/3] RUN go build ./...", 3.0), ("[5/5] COPY . .", 0.1)]


@pytest.mark.parametrize("kind, driver, expected", [
    ("buildx", "docker-container", "registry"),
    ("buildx", "remote", "registry"),
    ("buildx", "docker", "inline"),
    ("builtin", None, "inline"),
    ("classic", None, "inline"),
])
def test_cache_strategy(kind, driver, expected):
    strategy = cache_strategy(BuildPath("docker", kind), driver)
    assert strategy.kind == expected
    assert strategy.reason


def test_buildx_command_exports_and_imports_a_registry_cache_with_mode_max():
    path = BuildPath("docker", "buildx")
    strategy = cache_strategy(path, "docker-container")
    ref = "127.0.0.1:5000/decruft-bench-x/optimised:buildcache-r1"
    seed = path.build_command(".", tags="img:1", **cache_arguments(strategy, ref, export=True)).argv
    assert seed[:4] == ("docker", "buildx", "build", "--load")
    assert seed[seed.index("--cache-to") + 1] == f"type=registry,ref={ref},mode=max"
    assert "--no-cache" not in seed
    seeded = path.build_command(".", tags="img:2", **cache_arguments(strategy, ref, export=False)).argv
    assert seeded[seeded.index("--cache-from") + 1] == f"type=registry,ref={ref}"
    assert "--cache-to" not in seeded


def test_builtin_command_uses_the_inline_cache():
    path = BuildPath("/usr/bin/docker", "builtin", {"DOCKER_BUILDKIT": "1"})
    strategy = cache_strategy(path, None)
    ref = "127.0.0.1:5000/decruft-bench-x/original:r1"
    seed = path.build_command(".", tags=ref, no_cache=True, **cache_arguments(strategy, ref, export=True)).argv
    assert "BUILDKIT_INLINE_CACHE=1" in seed and "--cache-to" not in seed
    seeded = path.build_command(".", tags="x", **cache_arguments(strategy, ref, export=False)).argv
    assert seeded[seeded.index("--cache-from") + 1] == ref


def test_docker_times_parse_with_nanoseconds():
    assert _parse_time("2026-11-27T23:22:56.713703646Z") == pytest.approx(1795821776.7137036, abs=1e-6)
    assert _parse_time("0001-01-01T00:00:00Z") == 0.0
    assert _parse_time(None) == 0.0


@pytest.mark.parametrize("ref, expected", [
    ("127.0.0.1:5000/decruft-bench-ab/original:r1", ("127.0.0.1:5000", "decruft-bench-ab/original", "r1")),
    ("localhost:5000/app", ("localhost:5000", "app", "latest")),
])
def test_split_reference(ref, expected):
    assert split_reference(ref) == expected


def test_unreachable_registry_names_its_address():
    with socket.socket() as probe:  # a port nothing listens on
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    with pytest.raises(RegistryUnreachableError, match=f"127.0.0.1:{port}") as caught:
        check_registry(f"127.0.0.1:{port}", timeout=2)
    assert "--no-ci" in str(caught.value)
