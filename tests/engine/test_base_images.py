"""The test environment scripts/docker-up makes: base images, registries reachable from builds,
and the local registry on 127.0.0.1:5000."""

from __future__ import annotations

import json
import urllib.request
import uuid

import pytest

from decruft.engine import find_build_path, run_build

pytestmark = pytest.mark.docker

BASE_IMAGES = [
    "debian:bookworm",
    "debian:bookworm-slim",
    "python:3.11",
    "python:3.11-slim",
    "node:20",
    "node:20-slim",
    "golang:1.19",
    "r-base:4.2",
    "buildpack-deps:bookworm",
    "busybox:latest",
]

NO_MARKER = (
    "python -c \"import os, sys, sysconfig; "
    "sys.exit(os.path.exists(os.path.join(sysconfig.get_path('stdlib'), 'EXTERNALLY-MANAGED')))\""
)

# What must work inside a build on each image; the pip and npm lines go to their registries
# through the host's CA certificates (the corporate-proxy case).
CHECKS = {
    "python:3.11-slim": f"python --version && pip --version && {NO_MARKER} && "
    "pip download -q --no-deps -d /tmp/d six && python -m venv --without-pip /tmp/v",
    "python:3.11": f"python --version && pip --version && {NO_MARKER} && gcc --version && "
    "pip download -q --no-deps -d /tmp/d six",
    "node:20-slim": "node --version | grep -q '^v20\\.' && npm view is-number version",
    "node:20": "node --version | grep -q '^v20\\.' && npm view is-number version",
    "golang:1.19": "go version | grep -q 'go1\\.19'",
    "r-base:4.2": "R --version | grep -q 'R version 4\\.2'",
}


@pytest.mark.parametrize("tag", BASE_IMAGES)
def test_base_image_exists(docker, tag):
    image = docker.images.get(tag)  # raises ImageNotFound: run scripts/docker-up
    assert image.attrs["RootFS"]["Layers"]


@pytest.mark.parametrize("tag", sorted(CHECKS))
def test_inside_a_build(docker, tmp_path, tag):
    (tmp_path / "Dockerfile").write_text(f"FROM {tag}\nRUN {CHECKS[tag]}\n")
    result = run_build(tmp_path, path=find_build_path(), no_cache=True, timeout=300)
    assert result.image_id
    docker.images.remove(result.image_id, force=True)


def test_local_registry_takes_a_push(docker):
    ref = f"127.0.0.1:5000/decruft-test/busybox:{uuid.uuid4().hex[:10]}"
    repo, tag = ref.rsplit(":", 1)
    docker.images.get("busybox:latest").tag(repo, tag)
    try:
        for line in docker.api.push(repo, tag, stream=True, decode=True):
            assert "error" not in line, line
        with urllib.request.urlopen("http://127.0.0.1:5000/v2/decruft-test/busybox/tags/list", timeout=10) as resp:
            assert tag in json.load(resp)["tags"]
    finally:
        docker.images.remove(ref)
