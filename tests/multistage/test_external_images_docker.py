"""Binaries copied from official images (DC153's fix and ``fix --multistage``), built for real.

Nothing can be pulled from the internet here, so the official uv image is recreated faithfully:
``ghcr.io/astral-sh/uv:<v>`` is ``FROM scratch`` with the static ``/uv`` and ``/uvx`` only, and
those are the very binaries of uv's musllinux wheel on PyPI (``uv ... (x86_64-unknown-linux-musl)``).
The stand-in is tagged with the official name (BuildKit with the docker driver resolves
``COPY --from=<name>`` from the local image store) and pushed to the local registry
(127.0.0.1:5000, started by scripts/docker-up) under the path a mirror would use, so a build
through ``--external-image-registry`` really pulls from a registry. Both are made once and kept
(labelled ``io.decruft.stand-in``); a second session finds them and builds nothing.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import urllib.request
import uuid
import zipfile
from pathlib import Path

import pytest

from decruft.engine.buildkit import run_build
from decruft.fix import FixOptions, fix_file
from decruft.fix.verify import SmokeSpec
from decruft.multistage.convert import ConvertOptions, convert_file

pytestmark = pytest.mark.docker

UV_VERSION = "0.13.9"
UV_IMAGE = f"ghcr.io/astral-sh/uv:{UV_VERSION}"
REGISTRY = "127.0.0.1:5000"
MIRRORED = f"{REGISTRY}/astral-sh/uv:{UV_VERSION}"
STAND_IN_LABEL = "io.decruft.stand-in"
EXAMPLE = Path(__file__).resolve().parents[2] / "examples" / "python-uv-api"


def _cache_dir(tmp_path_factory) -> Path:
    wanted = Path(os.environ.get("DECRUFT_CACHE_DIR", "/var/cache/decruft")) / "stand-ins"
    try:
        wanted.mkdir(parents=True, exist_ok=True)
        return wanted
    except OSError:
        return tmp_path_factory.mktemp("stand-ins")


def _uv_binaries(directory: Path) -> Path:
    """``uv`` and ``uvx`` from uv's static (musllinux) wheel, downloaded once."""
    wheel_dir = directory / f"uv-{UV_VERSION}-wheel"
    wheels = sorted(wheel_dir.glob("uv-*.whl"))
    if not wheels:
        subprocess.run(
            [sys.executable, "-m", "pip", "download", "--quiet", "--no-deps", "--only-binary=:all:",
             "--platform", "musllinux_1_1_x86_64", f"uv=={UV_VERSION}", "-d", str(wheel_dir)],
            check=True, timeout=300,
        )
        wheels = sorted(wheel_dir.glob("uv-*.whl"))
    context = directory / f"uv-{UV_VERSION}-image"
    context.mkdir(exist_ok=True)
    with zipfile.ZipFile(wheels[0]) as wheel:
        for name in ("uv", "uvx"):
            target = context / name
            with wheel.open(f"uv-{UV_VERSION}.data/scripts/{name}") as source, open(target, "wb") as out:
                shutil.copyfileobj(source, out)
            target.chmod(0o755)
    (context / "Dockerfile").write_text("FROM scratch\nCOPY uv uvx /\n")
    return context


def _in_registry(reference: str) -> bool:
    host, _, rest = reference.partition("/")
    repository, _, tag = rest.rpartition(":")
    request = urllib.request.Request(
        f"http://{host}/v2/{repository}/manifests/{tag}", method="HEAD",
        headers={"Accept": "application/vnd.docker.distribution.manifest.v2+json"},
    )
    try:
        with urllib.request.urlopen(request, timeout=10) as response:
            return response.status == 200
    except OSError:
        return False


@pytest.fixture(scope="session")
def uv_image(docker, tmp_path_factory):
    """The official uv image's stand-in, locally and in the local registry."""
    import docker as docker_py

    try:
        present = docker.images.get(UV_IMAGE).labels.get(STAND_IN_LABEL) == UV_IMAGE
    except docker_py.errors.ImageNotFound:
        present = False
    if not present:
        context = _uv_binaries(_cache_dir(tmp_path_factory))
        run_build(context, tags=UV_IMAGE, labels={STAND_IN_LABEL: UV_IMAGE}, timeout=300)
    if not _in_registry(MIRRORED):
        image = docker.images.get(UV_IMAGE)
        image.tag(MIRRORED)
        for line in docker.images.push(MIRRORED, stream=True, decode=True):
            assert "error" not in line, line
        docker.images.remove(MIRRORED)  # so a build can only get it through the registry
    assert _in_registry(MIRRORED)
    return UV_IMAGE


def _built(docker, context: Path):
    token = uuid.uuid4().hex[:8]
    tag = f"decruft-ext-{token}"
    result = run_build(context, tags=tag, timeout=900)
    try:
        output = docker.containers.run(tag, ["uv", "--version"], remove=True)
    finally:
        docker.images.remove(result.image_id, force=True)
    return output.decode().strip()


@pytest.mark.parametrize("registry,reference", [(None, UV_IMAGE), (REGISTRY, MIRRORED)], ids=["local", "registry"])
def test_fixed_dockerfile_builds_and_uv_runs(docker, uv_image, tmp_path, registry, reference):
    if registry is not None:
        assert not docker.images.list(name=MIRRORED.rsplit(":", 1)[0])  # not in the local store
    dockerfile = tmp_path / "Dockerfile"
    dockerfile.write_text(f"FROM python:3.11-slim\nRUN pip install uv=={UV_VERSION}\nRUN uv --version\n")
    result = fix_file(dockerfile, FixOptions(unsafe=True, select=["DC153"], external_image_registry=registry),
                      write=True, backup=False)
    assert [fix.code for fix in result.applied] == ["DC153"]
    assert dockerfile.read_text() == (
        f"FROM python:3.11-slim\nCOPY --from={reference} /uv /uvx /bin/\nRUN uv --version\n"
    )
    assert _built(docker, tmp_path) == f"uv {UV_VERSION} (x86_64-unknown-linux-musl)"


def test_installer_script_replaced_in_a_chain(docker, uv_image, tmp_path):
    """The installer's place (/root/.local/bin) is kept, so the PATH the file set still finds uv."""
    dockerfile = tmp_path / "Dockerfile"
    dockerfile.write_text(
        "FROM python:3.11-slim\n"
        f"RUN echo start && curl -LsSf https://astral.sh/uv/{UV_VERSION}/install.sh | sh && echo done\n"
        'ENV PATH="/root/.local/bin:$PATH"\n'
    )
    fix_file(dockerfile, FixOptions(unsafe=True, select=["DC153"]), write=True, backup=False)
    assert dockerfile.read_text().splitlines()[1:3] == [
        f"COPY --from={UV_IMAGE} /uv /uvx /root/.local/bin/", "RUN echo start && echo done",
    ]
    assert _built(docker, tmp_path) == f"uv {UV_VERSION} (x86_64-unknown-linux-musl)"


def test_python_uv_api_conversion_verifies_with_copied_uv(docker, uv_image, tmp_path):
    project = tmp_path / "python-uv-api"
    shutil.copytree(EXAMPLE, project)
    spec = SmokeSpec.from_file(EXAMPLE / "smoke.json")
    conversion = convert_file(project / "Dockerfile", ConvertOptions(smoke=spec, write=False))
    assert conversion.converted, (conversion.reason, conversion.detail)
    assert f"COPY --from={UV_IMAGE} /uv /uvx /bin/\n" in conversion.text
    assert "pip install uv" not in conversion.text
    assert any(f"replaced by `COPY --from={UV_IMAGE}" in line for line in conversion.explanation)
    assert conversion.result.size < conversion.original.size * 0.6
