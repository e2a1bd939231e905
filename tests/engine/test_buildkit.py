"""The BuildKit build path: choosing a client, real builds through each path, failures.

Real builds need an engine (``scripts/docker-up``); without one the ``docker`` fixture fails.
The buildx path is exercised through a shim client (a script that answers ``buildx version``
and runs ``buildx build`` as a built-in BuildKit build) when no real buildx plugin is here; a
client without BuildKit is simulated the same way (a script that fails like Docker 23+ without
buildx).
"""

from __future__ import annotations

import os
import stat
import uuid
from pathlib import Path

import pytest

from decruft.engine import (
    BuildError,
    BuildPath,
    EngineUnavailableError,
    clear_probe_cache,
    engine_status,
    find_build_path,
    run_build,
)
from decruft.errors import DecruftError

# ---------------------------------------------------------------------------------------------
# argv composition (no engine needed)
# ---------------------------------------------------------------------------------------------


def test_builtin_command_has_buildkit_env_and_all_options(tmp_path):
    bp = BuildPath("/usr/bin/docker", "builtin", {"DOCKER_BUILDKIT": "1"})
    cmd = bp.build_command(
        tmp_path,
        tags=["a:1", "b:2"],
        file=tmp_path / "Dockerfile.x",
        build_args={"V": "1"},
        target="final",
        cache_from=["a:0"],
        no_cache=True,
        pull=True,
        inline_cache=True,
        labels={"k": "v"},
        platform="linux/amd64",
        iidfile=tmp_path / "iid",
        env={"PATH": "/bin", "DOCKER_HOST": "unix:///x.sock"},
    )
    assert cmd.argv == (
        "/usr/bin/docker", "build", "--progress=plain", "-t", "a:1", "-t", "b:2",
        "-f", str(tmp_path / "Dockerfile.x"), "--build-arg", "V=1",
        "--build-arg", "BUILDKIT_INLINE_CACHE=1", "--target", "final", "--cache-from", "a:0",
        "--no-cache", "--pull", "--label", "k=v", "--platform", "linux/amd64",
        "--iidfile", str(tmp_path / "iid"), str(tmp_path),
    )
    assert cmd.env == {"PATH": "/bin", "DOCKER_HOST": "unix:///x.sock", "DOCKER_BUILDKIT": "1"}


def test_buildx_command_loads_into_the_engine(tmp_path):
    cmd = BuildPath("/x/docker", "buildx").build_command(tmp_path, tags="t", cache_from="type=registry,ref=r")
    assert cmd.argv[:4] == ("/x/docker", "buildx", "build", "--load")
    assert ("--cache-from", "type=registry,ref=r") == cmd.argv[cmd.argv.index("--cache-from"):][:2]


def test_classic_command_has_no_progress_flag(tmp_path):
    bp = BuildPath("/x/docker", "classic", {"DOCKER_BUILDKIT": "0"}, warning="w")
    cmd = bp.build_command(tmp_path, tags="t", inline_cache=True)
    assert not any(a.startswith("--progress") for a in cmd.argv)
    assert "BUILDKIT_INLINE_CACHE=1" not in cmd.argv
    assert cmd.env["DOCKER_BUILDKIT"] == "0"
    assert not bp.buildkit


def test_build_error_is_a_decruft_error_with_the_log_tail():
    err = BuildError("failed", returncode=1, log="".join(f"line {i}\n" for i in range(100)), argv=["d"])
    assert isinstance(err, DecruftError)
    assert err.log_tail.splitlines() == [f"line {i}" for i in range(60, 100)]
    assert "line 99" in str(err) and "line 10\n" not in str(err)


# ---------------------------------------------------------------------------------------------
# Fake clients
# ---------------------------------------------------------------------------------------------


def _script(path: Path, text: str) -> str:
    path.write_text(text)
    path.chmod(path.stat().st_mode | stat.S_IXUSR | stat.S_IXGRP | stat.S_IXOTH)
    return str(path)


def no_buildkit_client(tmp_path: Path, real: str) -> str:
    """A client like Docker 23+ without the buildx plugin: BuildKit builds fail, classic works."""
    d = tmp_path / "nobk"
    d.mkdir(exist_ok=True)
    return _script(d / "docker", f"""#!/bin/sh
case "$1" in
  buildx) echo "docker: 'buildx' is not a docker command." >&2; exit 1 ;;
  build)
    if [ "${{DOCKER_BUILDKIT:-}}" = 1 ]; then
      echo "ERROR: BuildKit is enabled but the buildx component is missing or broken." >&2; exit 1
    fi
    DOCKER_BUILDKIT=0; export DOCKER_BUILDKIT ;;
esac
exec {real} "$@"
""")


def buildx_shim(tmp_path: Path, real: str) -> str:
    """A client whose ``buildx build`` is a built-in BuildKit build (stands in for buildx)."""
    d = tmp_path / "buildx"
    d.mkdir(exist_ok=True)
    return _script(d / "docker", f"""#!/bin/bash
if [ "$1" = buildx ]; then
  case "$2" in
    version) echo "github.com/docker/buildx v0.0.0 decruft-test-shim"; exit 0 ;;
    build) shift 2; args=(); for a in "$@"; do [ "$a" = --load ] || args+=("$a"); done
           DOCKER_BUILDKIT=1 exec {real} build "${{args[@]}}" ;;
  esac
  echo "shim: unsupported: $*" >&2; exit 1
fi
exec {real} "$@"
""")


# ---------------------------------------------------------------------------------------------
# Real engine
# ---------------------------------------------------------------------------------------------


@pytest.fixture(autouse=True)
def _fresh_probe_cache():
    clear_probe_cache()
    yield
    clear_probe_cache()


@pytest.fixture(scope="module")
def default_path(docker) -> BuildPath:
    clear_probe_cache()
    return find_build_path()


@pytest.fixture(scope="module")
def builtin_client(default_path) -> str:
    """A real client with built-in BuildKit (Debian's docker.io here)."""
    if default_path.kind == "builtin":
        return default_path.docker
    for exe in ("/usr/bin/docker", "/usr/local/bin/docker"):
        if os.access(exe, os.X_OK) and find_build_path(exe, search=()).kind == "builtin":
            return exe
    pytest.skip("no client with built-in BuildKit here (buildx only)")


@pytest.fixture
def images(docker):
    """Unique tags for this test; the images are removed afterwards."""
    made: list[str] = []

    def tag(name: str = "t") -> str:
        made.append(f"decruft-test/engine-{name}:{uuid.uuid4().hex[:10]}")
        return made[-1]

    yield tag
    for t in made:
        try:
            docker.images.remove(t, force=True, noprune=False)
        except Exception:
            pass


def _path_of_kind(kind: str, tmp_path: Path, default_path: BuildPath, request) -> BuildPath:
    if kind == "buildx" and default_path.kind == "buildx":
        return default_path  # a real buildx plugin
    if kind == "classic":
        return find_build_path(no_buildkit_client(tmp_path, default_path.docker), search=())
    builtin = request.getfixturevalue("builtin_client")
    if kind == "builtin":
        return find_build_path(builtin, search=())
    return find_build_path(buildx_shim(tmp_path, builtin), search=())


def _history(docker, image_id: str) -> list[str]:
    return [h.get("CreatedBy", "") for h in docker.api.history(image_id)]


@pytest.mark.docker
def test_default_path_uses_buildkit(default_path):
    assert default_path.kind in ("buildx", "builtin")
    assert default_path.warning is None
    assert default_path.server_version
    assert os.path.isabs(default_path.docker)
    if default_path.kind == "builtin":
        assert default_path.env == {"DOCKER_BUILDKIT": "1"}


@pytest.mark.docker
def test_probe_is_cached_per_process(docker):
    assert find_build_path() is find_build_path()


@pytest.mark.docker
@pytest.mark.parametrize("kind", ["builtin", "buildx", "classic"])
def test_build_from_scratch_through_each_path(kind, docker, tmp_path, default_path, images, request):
    bp = _path_of_kind(kind, tmp_path, default_path, request)
    assert bp.kind == kind
    ctx = tmp_path / "ctx"
    ctx.mkdir()
    (ctx / "hello.txt").write_text("hello\n")
    (ctx / "Dockerfile").write_text("FROM scratch\nCOPY hello.txt /hello.txt\nLABEL io.decruft.test=1\n")
    tag = images("scratch")
    result = run_build(ctx, tags=tag, path=bp)
    assert result.image_id.startswith("sha256:")
    assert docker.images.get(tag).id == result.image_id
    assert result.seconds > 0
    created = _history(docker, result.image_id)
    copy_line = next(c for c in created if "hello.txt" in c)
    if kind == "classic":
        assert "Step 1/" in result.log and "#1 " not in result.log
        assert "# buildkit" not in copy_line
        assert bp.warning and "classic" in bp.warning
    else:
        assert "[internal] load build definition" in result.log
        assert copy_line == "COPY hello.txt /hello.txt # buildkit"
        assert result.steps >= 3
        assert bp.warning is None


@pytest.mark.docker
@pytest.mark.parametrize("kind", ["builtin", "buildx", "classic"])
def test_build_from_debian_slim_through_each_path(kind, docker, tmp_path, default_path, images, request):
    bp = _path_of_kind(kind, tmp_path, default_path, request)
    ctx = tmp_path / "ctx"
    ctx.mkdir()
    (ctx / "Dockerfile").write_text(
        "FROM debian:bookworm-slim AS base\n"
        "ARG GREETING=hi\n"
        "RUN echo \"$GREETING\" > /greeting\n"
        "FROM base AS unused\n"
        "RUN echo unused-stage-ran\n"
        "FROM base AS final\n"
        "RUN cat /greeting\n"
    )
    tag = images("slim")
    result = run_build(
        ctx, tags=tag, path=bp, target="final", build_args={"GREETING": "hello-decruft"}, no_cache=True
    )
    created = _history(docker, result.image_id)
    run_lines = [c for c in created if "echo" in c and "/greeting" in c]
    assert run_lines, created
    assert any("GREETING=hello-decruft" in c for c in run_lines)
    assert "hello-decruft" in result.log  # the output of `cat /greeting`
    if kind == "classic":
        assert all("# buildkit" not in c for c in run_lines)
        assert "unused-stage-ran" in result.log  # classic builds every stage up to the target
    else:
        assert all(c.endswith("# buildkit") for c in run_lines)
        assert "unused-stage-ran" not in result.log  # BuildKit builds only what the target needs


@pytest.mark.docker
def test_second_build_hits_the_cache_and_cache_from_is_accepted(docker, tmp_path, default_path, images):
    ctx = tmp_path / "ctx"
    ctx.mkdir()
    (ctx / "Dockerfile").write_text(f"FROM debian:bookworm-slim\nRUN echo {uuid.uuid4().hex} > /x\n")
    tag = images("cache")
    first = run_build(ctx, tags=tag, path=default_path, inline_cache=True)
    second = run_build(ctx, tags=tag, path=default_path, cache_from=tag)
    layers = [docker.images.get(r.image_id).attrs["RootFS"]["Layers"] for r in (first, second)]
    assert layers[0] == layers[1]
    assert not any(" RUN echo " in step for step in first.cached)
    assert any(" RUN echo " in step for step in second.cached), second.log
    assert "importing cache manifest from " + tag in second.log


@pytest.mark.docker
def test_env_var_chooses_the_client(docker, tmp_path, monkeypatch, builtin_client):
    monkeypatch.setenv("DECRUFT_DOCKER", builtin_client)
    bp = find_build_path(search=())
    assert (bp.docker, bp.kind, bp.note) == (builtin_client, "builtin", None)

    fake = no_buildkit_client(tmp_path, builtin_client)
    monkeypatch.setenv("DECRUFT_DOCKER", fake)
    clear_probe_cache()
    assert find_build_path(search=()).kind == "classic"
    clear_probe_cache()
    switched = find_build_path(search=[builtin_client])
    assert switched.docker == builtin_client and switched.kind == "builtin"
    assert switched.note and fake in switched.note and "no BuildKit" in switched.note


@pytest.mark.docker
def test_argument_beats_env_var(docker, tmp_path, monkeypatch, builtin_client):
    monkeypatch.setenv("DECRUFT_DOCKER", no_buildkit_client(tmp_path, builtin_client))
    bp = find_build_path(builtin_client, search=())
    assert bp.docker == builtin_client and bp.kind == "builtin" and bp.note is None


@pytest.mark.docker
def test_classic_fallback_warns(docker, tmp_path, builtin_client):
    fake = no_buildkit_client(tmp_path, builtin_client)
    bp = find_build_path(fake, search=())
    assert bp.kind == "classic" and bp.docker == fake
    assert bp.warning and "classic builder" in bp.warning and "BuildKit" in bp.warning
    assert bp.env == {"DOCKER_BUILDKIT": "0"}


@pytest.mark.docker
def test_missing_client_named_by_the_user_is_an_error(docker, tmp_path):
    with pytest.raises(DecruftError, match="not found"):
        find_build_path(str(tmp_path / "no-such-docker"))


@pytest.mark.docker
def test_failing_build_raises_with_log_tail(docker, tmp_path, default_path):
    ctx = tmp_path / "ctx"
    ctx.mkdir()
    (ctx / "Dockerfile").write_text(
        "FROM debian:bookworm-slim\nRUN echo decruft-before-failure && exit 3\n"
    )
    with pytest.raises(BuildError) as info:
        run_build(ctx, path=default_path, no_cache=True)
    err = info.value
    assert err.returncode != 0
    assert "decruft-before-failure" in err.log_tail
    assert "decruft-before-failure" in str(err)


@pytest.mark.docker
def test_build_timeout_raises(docker, tmp_path, default_path):
    ctx = tmp_path / "ctx"
    ctx.mkdir()
    (ctx / "Dockerfile").write_text(f"FROM debian:bookworm-slim\nRUN sleep 60 # {uuid.uuid4().hex}\n")
    with pytest.raises(BuildError, match="timed out"):
        run_build(ctx, path=default_path, timeout=3)


@pytest.mark.docker
def test_on_line_streams_the_log(docker, tmp_path, default_path):
    ctx = tmp_path / "ctx"
    ctx.mkdir()
    (ctx / "Dockerfile").write_text("FROM scratch\nLABEL a=b\n")
    seen: list[str] = []
    result = run_build(ctx, path=default_path, on_line=seen.append)
    assert "\n".join(seen) + "\n" == result.log
    docker.images.remove(result.image_id, force=True)


@pytest.mark.docker
def test_unreachable_engine_says_how_to_start_one(docker, monkeypatch, tmp_path):
    monkeypatch.setenv("DOCKER_HOST", f"unix://{tmp_path}/no.sock")
    status = engine_status(timeout=3)
    assert not status.reachable
    assert "scripts/docker-up" in status.message and str(tmp_path) in status.message
    with pytest.raises(EngineUnavailableError, match="docker-up"):
        find_build_path()
