"""``decruft bench`` end to end on the engine: a tiny project, repeat 1; failures; Ctrl-C; bad setups.

The project is a busybox image with a dependency manifest and a source file, so every
measurement exists and takes seconds. Each run pins its token (DECRUFT_BENCH_TOKEN) to check
afterwards that it left no image, tag, pushed manifest or temporary directory behind.
"""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import tempfile
import time
from importlib import resources
from pathlib import Path

import jsonschema
import pytest
import requests

from decruft.bench.model import result_from_dict
from decruft.bench.report import markdown

REGISTRY = "127.0.0.1:5000"
REQUIRED = ("image_size_bytes", "layers", "cold_build_s", "warm_rebuild_s", "warm_rebuild_steps_rerun",
            "ci_nocache_s", "ci_registry_cache_s")


def make_project(root: Path) -> Path:
    root.mkdir()
    (root / "Dockerfile").write_text(
        "FROM busybox\nWORKDIR /app\nCOPY requirements.txt .\nRUN sort requirements.txt > deps && sleep 2\n"
        "COPY . .\nRUN cat main.sh > built && sleep 1\nCMD [\"sh\", \"main.sh\"]\n")
    unique = os.urandom(6).hex()  # no build cache of another test or run matches this project
    (root / "requirements.txt").write_text(f"b\na\n{unique}\n")
    (root / "main.sh").write_text(f"echo hello {unique}\n")
    return root


def snapshot(root: Path) -> dict[str, bytes]:
    return {str(p.relative_to(root)): p.read_bytes() for p in sorted(root.rglob("*")) if p.is_file()}


def bench(args: list[str], token: str, **kwargs) -> subprocess.Popen | subprocess.CompletedProcess:
    env = {**os.environ, "DECRUFT_BENCH_TOKEN": token}
    argv = [sys.executable, "-m", "decruft", "bench", *args]
    if kwargs.pop("background", False):
        # a suite started in the background (`cmd &`) inherits SIGINT ignored: Ctrl-C as a user has it
        return subprocess.Popen(argv, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                                preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL))
    return subprocess.run(argv, env=env, capture_output=True, text=True, timeout=900)


def leftovers(docker, token: str) -> list[str]:
    found = []
    for image in docker.api.images(filters={"label": f"decruft-bench={token}"}):
        found.append(f"image {image['Id'][:19]} {image.get('RepoTags')}")
    for image in docker.api.images():
        found += [f"tag {tag}" for tag in image.get("RepoTags") or [] if f"decruft-bench-{token}" in tag]
    for container in docker.api.containers(all=True, filters={"label": f"decruft-bench={token}"}):
        found.append(f"container {container['Id'][:12]}")
    found += [f"directory {p}" for p in Path(tempfile.gettempdir()).glob(f"decruft-bench-{token}-*")]
    for side in ("original", "optimised"):
        for tag in ("r1", "r2", "r3"):
            url = f"http://{REGISTRY}/v2/decruft-bench-{token}/{side}/manifests/{tag}"
            status = requests.head(url, timeout=10, headers={
                "Accept": "application/vnd.docker.distribution.manifest.v2+json"}).status_code
            if status == 200:
                found.append(f"registry {url}")
    return found


def token() -> str:
    return "t" + os.urandom(4).hex()


@pytest.mark.docker
def test_bench_measures_both_sides_and_cleans_up(docker, tmp_path):
    project = make_project(tmp_path / "project")
    before = snapshot(project)
    run_token = token()
    done = bench([str(project), "--repeat", "1", "--format", "json", "--no-multistage"], run_token)
    assert done.returncode == 0, done.stderr[-3000:]
    data = json.loads(done.stdout)
    schema = json.loads(resources.files("decruft.bench").joinpath("schema.json").read_text())
    jsonschema.validate(data, schema)
    assert data["changed_source"] == "main.sh" and data["changed_manifest"] == "requirements.txt"
    for name in ("original", "optimised"):
        side = data["sides"][name]
        for key in REQUIRED:
            assert side[key] is not None, (name, key)
        # busybox + WORKDIR, COPY, RUN, COPY, RUN: the source change re-runs the last two steps only.
        assert side["steps"] == 5
        assert side["warm_rebuild_steps_rerun"] == 2 and side["warm_rebuild_steps_cached"] == 3
        assert side["dep_rebuild_steps_rerun"] == 4
        # The CI build found every step in the registry (inline) cache, none in a local one.
        assert side["ci_registry_cache_steps_cached"] == 5 and side["ci_registry_cache_steps_rerun"] == 0
        assert side["compressed_size_bytes"] and side["push_bytes"] is not None and side["pull_s"] is not None
        assert side["files"] > 100 and side["layer_sizes"] and side["treemap"]  # busybox: ~270 paths
    assert snapshot(project) == before
    assert leftovers(docker, run_token) == []


@pytest.mark.docker
def test_a_side_that_does_not_build_is_reported_with_its_log(docker, tmp_path):
    project = make_project(tmp_path / "project")
    broken = tmp_path / "Dockerfile.broken"
    broken.write_text("FROM busybox\nCOPY . /app\nRUN echo 'the optimiser broke it' && exit 3\n")
    run_token = token()
    done = bench([str(project), "--against", str(broken), "--repeat", "1", "--no-ci", "--format", "json"], run_token)
    assert done.returncode == 1, done.stderr[-3000:]
    data = json.loads(done.stdout)
    assert data["ok"] is False
    assert data["sides"]["original"]["ok"] and data["sides"]["original"]["cold_build_s"] is not None
    error = data["sides"]["optimised"]["error"]
    assert error["phase"] == "cold build"
    assert "the optimiser broke it" in error["log_tail"] and "exit code: 3" in error["log_tail"]
    text = markdown(result_from_dict(data))
    assert "the optimised side failed during the cold build" in text
    assert leftovers(docker, run_token) == []


@pytest.mark.docker
def test_ctrl_c_leaves_nothing_behind(docker, tmp_path):
    project = make_project(tmp_path / "project")
    before = snapshot(project)
    run_token = token()
    process = bench([str(project), "--repeat", "3", "--no-multistage"], run_token, background=True)
    # Interrupt in the middle of the source-change rebuilds: images exist, a file is edited.
    deadline = time.monotonic() + 300
    seen = ""
    assert process.stderr is not None
    while time.monotonic() < deadline:
        line = process.stderr.readline()
        seen += line
        if "source change 2/3" in line or not line:
            break
    assert "source change 2/3" in seen, seen
    time.sleep(0.5)
    process.send_signal(signal.SIGINT)
    _out, err = process.communicate(timeout=300)
    assert process.returncode == 130, seen + err
    assert "interrupted" in err
    assert snapshot(project) == before
    assert leftovers(docker, run_token) == []


def test_no_engine_says_how_to_start_one(tmp_path):
    project = make_project(tmp_path / "project")
    env = {**os.environ, "DOCKER_HOST": f"unix://{tmp_path}/no-docker.sock"}
    done = subprocess.run([sys.executable, "-m", "decruft", "bench", str(project)], env=env,
                          capture_output=True, text=True, timeout=120)
    assert done.returncode == 2
    assert "No Docker engine answers" in done.stderr and "scripts/docker-up" in done.stderr


@pytest.mark.docker
def test_unreachable_registry_is_named(docker, tmp_path):
    project = make_project(tmp_path / "project")
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    run_token = token()
    done = bench([str(project), "--registry", f"127.0.0.1:{port}"], run_token)
    assert done.returncode == 2
    assert f"the registry at 127.0.0.1:{port} does not answer" in done.stderr
    assert leftovers(docker, run_token) == []
