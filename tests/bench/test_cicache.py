"""``decruft ci-cache`` snippets: valid YAML, sound cache flags, and their docker lines run for real."""

from __future__ import annotations

import os
import re
import shlex
import subprocess
import time
from pathlib import Path

import pytest
import yaml
from click.testing import CliRunner

from decruft.cicache import BACKENDS, PROVIDERS, SnippetOptions, snippet

REGISTRY = "127.0.0.1:5000"


def shell_lines(provider: str, text: str) -> list[str]:
    """Every shell command line of a snippet, in the order the CI runs them."""
    docs = list(yaml.safe_load_all(text))
    config = docs[0]
    lines: list[str] = []
    if provider == "github":
        for job in config["jobs"].values():
            for step in job["steps"]:
                if "run" in step:
                    lines += [line for line in step["run"].splitlines() if line.strip()]
    elif provider == "gitlab":
        job = config["build-image"]
        lines = [*job.get("before_script", []), *job["script"]]
    else:
        for phase in ("install", "pre_build", "build", "post_build"):
            lines += config["phases"].get(phase, {}).get("commands", [])
    return lines


def docker_builds(lines: list[str]) -> list[list[str]]:
    out = []
    for line in lines:
        words = shlex.split(line)
        while words and "=" in words[0] and not words[0].startswith("-"):
            words = words[1:]  # VAR=value prefixes
        if words[:2] in (["docker", "build"], ["docker", "buildx"]) and "create" not in words[:3]:
            out.append(words)
    return out


def flag(words: list[str], name: str) -> list[str]:
    return [words[i + 1] for i, word in enumerate(words) if word == name]


@pytest.mark.parametrize("provider", PROVIDERS)
@pytest.mark.parametrize("backend", BACKENDS)
def test_snippet_is_yaml_with_one_build(provider, backend):
    text = snippet(SnippetOptions(provider, backend, dockerfile="docker/Dockerfile", context="app"))
    docs = list(yaml.safe_load_all(text))
    assert all(isinstance(doc, dict) for doc in docs)
    builds = docker_builds(shell_lines(provider, text))
    assert len(builds) == 1, builds
    words = builds[0]
    assert flag(words, "--file") == ["docker/Dockerfile"] and words[-1] == "app"
    assert "$IMAGE:$TAG" in flag(words, "--tag")


@pytest.mark.parametrize("provider", PROVIDERS)
def test_registry_backend_exports_every_stage(provider):
    text = snippet(SnippetOptions(provider, "registry"))
    words = docker_builds(shell_lines(provider, text))[0]
    assert words[:3] == ["docker", "buildx", "build"] and "--push" in words
    (cache_to,) = flag(words, "--cache-to")
    (cache_from,) = flag(words, "--cache-from")
    assert "mode=max" in cache_to.split(",")
    assert cache_from == "type=registry,ref=$CACHE_REF" and cache_to.startswith(cache_from + ",")
    lines = shell_lines(provider, text)
    # The default docker driver cannot export caches: the snippet makes a builder that can.
    assert "docker-container" in text or "setup-buildx-action" in text
    if provider == "codebuild":
        assert "image-manifest=true" in cache_to and "oci-mediatypes=true" in cache_to  # what ECR needs
        assert any("ecr get-login-password" in line for line in lines)


def test_provider_backends_use_each_providers_cache():
    github = docker_builds(shell_lines("github", snippet(SnippetOptions("github", "provider"))))[0]
    assert flag(github, "--cache-to") == ["type=gha,mode=max"] and flag(github, "--cache-from") == ["type=gha"]
    gitlab_text = snippet(SnippetOptions("gitlab", "provider"))
    assert yaml.safe_load(gitlab_text)["build-image"]["cache"]["paths"] == [".buildx-cache"]
    gitlab = docker_builds(shell_lines("gitlab", gitlab_text))[0]
    assert flag(gitlab, "--cache-to") == ["type=local,dest=.buildx-cache-new,mode=max"]
    codebuild_text = snippet(SnippetOptions("codebuild", "provider"))
    project = list(yaml.safe_load_all(codebuild_text))[1]
    assert project == {"Environment": {"PrivilegedMode": True},
                       "Cache": {"Type": "LOCAL", "Modes": ["LOCAL_DOCKER_LAYER_CACHE"]}}
    for limit in ("privileged mode", "one host", "best effort"):
        assert limit in codebuild_text


def test_codebuild_registry_snippet_mentions_the_local_alternative_and_its_limits():
    text = snippet(SnippetOptions("codebuild", "registry"))
    assert "LOCAL_DOCKER_LAYER_CACHE" in text and "best effort" in text and "privileged mode" in text


def test_cli_prints_the_snippet():
    from decruft.cli import main

    out = CliRunner().invoke(main, ["ci-cache", "--provider", "gitlab", "--image", "registry.example.com/app"])
    assert out.exit_code == 0, out.output
    assert yaml.safe_load(out.output)["build-image"]["variables"]["IMAGE"] == "registry.example.com/app"
    bad = CliRunner().invoke(main, ["ci-cache", "--provider", "jenkins"])
    assert bad.exit_code == 2


# ---------------------------------------------------------------------------------- run for real
def _project(tmp_path: Path) -> Path:
    """A small project whose files are unique to this test, so that no build cache left by
    another test (or an earlier run) can answer for the registry cache."""
    unique = os.urandom(6).hex()
    project = tmp_path / "app"
    project.mkdir()
    (project / "Dockerfile").write_text(
        "FROM busybox\nWORKDIR /app\nCOPY deps.txt .\nRUN sort deps.txt > deps.sorted && sleep 2\n"
        "COPY . .\nRUN wc -c main.sh > size.txt\nCMD [\"sh\", \"main.sh\"]\n")
    (project / "deps.txt").write_text(f"b\na\n{unique}\n")
    (project / "main.sh").write_text(f"echo hello {unique}\n")
    return project


_BUILD_LINES = r"^(DOCKER_BUILDKIT=1 )?docker (build|push|pull) "


def _run_lines(lines: list[str], project: Path, env: dict[str, str], bin_dir: Path, select: str = _BUILD_LINES) -> str:
    """Run the snippet's lines matching ``select`` as the CI would, in one shell (by default
    the build, push and pull lines: logins are skipped, the local registry needs none)."""
    runnable = [line for line in lines if re.match(select, line)]
    script = "set -e\n" + "\n".join(runnable) + "\n"
    proc = subprocess.run(["bash", "-c", script], cwd=project, capture_output=True, text=True, timeout=600,
                          env={**os.environ, **env, "PATH": f"{bin_dir}:{os.environ['PATH']}"})
    assert proc.returncode == 0, proc.stdout + proc.stderr
    return proc.stdout + proc.stderr


@pytest.fixture
def runner_env(docker, tmp_path):
    """A BuildKit-capable ``docker`` first on PATH, a repository in the local registry, and
    the cleanup of whatever the snippet's lines made."""
    from decruft.bench.engine import BenchEngine, check_registry
    from decruft.engine import find_build_path

    check_registry(REGISTRY)
    path = find_build_path()
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    (bin_dir / "docker").symlink_to(path.docker)
    token = os.urandom(4).hex()
    image = f"{REGISTRY}/decruft-bench-{token}/ci"
    engine = BenchEngine(path, token)
    started = time.time()
    yield {"IMAGE": image, "CACHE_REF": f"{image}:buildcache"}, bin_dir, engine, started
    for tag in ("t1", "t2", "latest"):
        engine.remove_tag(f"{image}:{tag}")
        engine.delete_from_registry(f"{image}:{tag}")
    engine.close()


@pytest.mark.docker
@pytest.mark.parametrize("provider", PROVIDERS)
def test_inline_snippet_lines_build_push_and_reuse_the_registry_cache(provider, runner_env, tmp_path):
    env, bin_dir, engine, started = runner_env
    project = _project(tmp_path)
    lines = shell_lines(provider, snippet(SnippetOptions(provider, "inline")))
    first = _run_lines(lines, project, {**env, "TAG": "t1"}, bin_dir)
    assert "pushed" in first.lower() or "digest: sha256:" in first
    # A fresh runner: none of the images, none of the build cache this test made.
    for tag in ("t1", "latest"):
        engine.remove_tag(f"{env['IMAGE']}:{tag}")
    engine.prune_cache_since(started - 1)
    (project / "main.sh").write_text(f"echo hello again {os.urandom(6).hex()}\n")  # the commit being built
    second = _run_lines(lines, project, {**env, "TAG": "t2"}, bin_dir)
    assert "importing cache manifest from" in second
    # The dependency step comes from the registry cache; the step after the changed file re-runs.
    assert re.search(r"^#(\d+) \[\d/\d\] RUN sort deps.txt.*\n(?:.*\n)*?#\1 CACHED", second, re.MULTILINE), second
    assert not re.search(r"^#(\d+) \[\d/\d\] RUN wc -c main.sh.*\n(?:.*\n)*?#\1 CACHED", second, re.MULTILINE)


@pytest.mark.docker
def test_codebuild_local_layer_cache_lines_build_and_push(runner_env, tmp_path):
    env, bin_dir, _engine, _started = runner_env
    lines = shell_lines("codebuild", snippet(SnippetOptions("codebuild", "provider")))
    out = _run_lines(lines, _project(tmp_path), {**env, "TAG": "t1"}, bin_dir)
    assert "digest: sha256:" in out


@pytest.mark.docker
@pytest.mark.parametrize("provider", PROVIDERS)
@pytest.mark.parametrize("backend", ["registry", "provider"])
def test_buildx_snippet_lines_run_where_buildx_can_export_caches(provider, backend, runner_env, tmp_path):
    env, bin_dir, _engine, _started = runner_env
    lines = shell_lines(provider, snippet(SnippetOptions(provider, backend)))
    if not any("buildx" in line for line in lines):
        pytest.skip("this snippet has no buildx line (it is run by the tests above)")
    probe = subprocess.run(["docker", "buildx", "inspect"], capture_output=True, text=True,
                           env={**os.environ, "PATH": f"{bin_dir}:{os.environ['PATH']}"})
    if probe.returncode != 0 or re.search(r"^Driver:\s*docker$", probe.stdout, re.MULTILINE):
        pytest.skip("no buildx builder that exports caches on this engine (Docker 20.10 built-in BuildKit); "
                    "the flags are checked by test_registry_backend_exports_every_stage")
    if backend == "provider" and provider == "github":
        pytest.skip("type=gha needs GitHub's cache service")
    _run_lines(lines, _project(tmp_path), {**env, "TAG": "t1"}, bin_dir, select=r"^(docker buildx build|rm -rf) ")
