"""Real images for the inspect tests and the dive comparison, built with BuildKit.

Each :class:`SampleImage` is a Dockerfile plus the context files it needs; nothing is fetched
from the network (the bases must exist locally: ``scripts/docker-up`` provides them).
:func:`build` uses Debian's ``/usr/bin/docker`` with ``DOCKER_BUILDKIT=1``; :func:`save` writes a
``docker save`` archive.  :func:`run_dive` returns dive 0.13.1's figures for an archive.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
from dataclasses import dataclass, field
from pathlib import Path

DOCKER = "/usr/bin/docker" if os.access("/usr/bin/docker", os.X_OK) else (shutil.which("docker") or "docker")
DIVE = shutil.which("dive") or str(Path(sys.executable).with_name("dive"))
PREFIX = "decruft-inspect-test"


@dataclass(frozen=True)
class SampleImage:
    name: str
    dockerfile: str
    files: dict[str, int | bytes] = field(default_factory=dict)  # context path -> random bytes count or content
    note: str = ""

    @property
    def tag(self) -> str:
        return f"{PREFIX}/{self.name}:latest"


BUILT = [
    SampleImage(
        "whiteouts",
        """FROM busybox
RUN mkdir -p /data && cd /data && i=0; while [ $i -lt 1200 ]; do echo "file $i" > f$i; i=$((i+1)); done
RUN cd /data && rm f*
""",
        note="a layer that deletes 1,200 files one by one (1,200 whiteouts; dive is quadratic in them, the 3,000+ case is in benchmarks/bench_inspect.py)",
    ),
    SampleImage(
        "chmod",
        """FROM busybox
COPY big.bin /app/big.bin
RUN chmod 755 /app/big.bin
""",
        {"big.bin": 2_000_000},
        note="chmod-only change re-adds a 2 MB file",
    ),
    SampleImage(
        "opaque",
        """FROM busybox
RUN mkdir -p /cache/sub && head -c 1000000 /dev/urandom > /cache/sub/blob && echo x > /cache/keep
RUN rm -rf /cache && mkdir /cache && echo new > /cache/new
""",
        note="rm -rf dir && mkdir dir: an opaque whiteout",
    ),
    SampleImage(
        "overwrite",
        """FROM busybox
COPY v1.bin /app/data.bin
COPY v2.bin /app/data.bin
""",
        {"v1.bin": 300_000, "v2.bin": 400_000},
        note="the same path written twice",
    ),
    SampleImage(
        "deleted-dirs",
        """FROM debian:bookworm-slim
RUN rm -rf /usr/share/doc /usr/share/man /usr/share/locale /usr/share/zoneinfo
""",
        note="whole directories of the base layer deleted",
    ),
    SampleImage(
        "apt-leftovers",
        """FROM debian:bookworm-slim
RUN mkdir -p /var/lib/apt/lists /var/cache/apt/archives \\
 && head -c 3000000 /dev/urandom > /var/lib/apt/lists/deb.debian.org_debian_dists_bookworm_main_binary-amd64_Packages \\
 && head -c 700000 /dev/urandom > /var/lib/apt/lists/deb.debian.org_debian_dists_bookworm_InRelease \\
 && head -c 1500000 /dev/urandom > /var/cache/apt/archives/curl_7.88.1_amd64.deb
RUN rm -rf /var/lib/apt/lists/*
""",
        note="apt lists removed in a later layer, .deb cache left",
    ),
    SampleImage(
        "hardlink",
        """FROM busybox
RUN head -c 500000 /dev/urandom > /a && ln /a /b
RUN rm /a
""",
        note="deleting one name of a hard-linked file frees nothing",
    ),
    SampleImage(
        "repeated-layer",
        """FROM busybox
COPY a.txt /a.txt
COPY a.txt /a.txt
RUN echo done > /done
""",
        {"a.txt": b"hello\n"},
        note="two identical layers (the second is a symlink in docker save)",
    ),
    SampleImage(
        "python-app",
        """FROM python:3.11-slim
WORKDIR /app
COPY . .
RUN python -m compileall -q /app && head -c 200000 /dev/urandom > /tmp/build.tmp
RUN chown -R 1000:1000 /app
""",
        {
            "main.py": b"print('hi')\n" * 100,
            "lib/util.py": b"X = 1\n" * 1000,
            "__pycache__/main.cpython-310.pyc": 3_000,
            ".env": b"SECRET_KEY=abc\n",
            ".git/objects/pack/pack-1.pack": 400_000,
            ".git/HEAD": b"ref: refs/heads/main\n",
            "node_modules/left-pad/package.json": b'{"name":"left-pad"}\n',
            "node_modules/left-pad/test/test.js": 20_000,
            "static/logo.png": 50_000,
            ".DS_Store": 6_148,
        },
        note="COPY . . with context junk, then chown -R (every byte twice)",
    ),
    SampleImage(
        "duplicates",
        """FROM busybox
COPY big.bin /a/big.bin
COPY big.bin /b/big.bin
RUN mkdir -p /tmp/x && head -c 100000 /dev/urandom > /tmp/x/junk
""",
        {"big.bin": 1_000_000},
        note="the same content at two paths",
    ),
]

BASES = [
    "busybox:latest",
    "debian:bookworm-slim",
    "python:3.11-slim",
    "node:20-slim",
    "buildpack-deps:bookworm-curl",
    "python:3.11",
    "golang:1.19",
    "node:20",
    "r-base:4.2",
]


def docker(*args: str, check: bool = True, **kwargs) -> subprocess.CompletedProcess:
    env = dict(os.environ, DOCKER_BUILDKIT="1")
    return subprocess.run([DOCKER, *args], check=check, env=env, capture_output=True, text=True, **kwargs)


def image_exists(tag: str) -> bool:
    return docker("image", "inspect", tag, check=False).returncode == 0


def build(image: SampleImage, workdir: Path) -> str:
    context = workdir / image.name
    if context.exists():
        shutil.rmtree(context)
    context.mkdir(parents=True)
    seed = 0
    for rel, content in image.files.items():
        path = context / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        if isinstance(content, int):
            seed += 1
            path.write_bytes(_pseudo_random(content, seed))
        else:
            path.write_bytes(content)
    (context / "Dockerfile").write_text(image.dockerfile)
    result = docker("build", "-q", "-t", image.tag, str(context), check=False)
    if result.returncode != 0:
        raise RuntimeError(f"building {image.name} failed:\n{result.stderr[-2000:]}")
    return image.tag


def _pseudo_random(size: int, seed: int) -> bytes:
    import hashlib

    block = b"".join(hashlib.sha256(f"{seed}:{i}".encode()).digest() for i in range(2048))  # 64 KiB
    return (block * (size // len(block) + 1))[:size]


def save(tag: str, path: Path) -> Path:
    docker("save", "-o", str(path), tag)
    return path


def remove(tags: list[str]) -> None:
    if tags:
        docker("rmi", "-f", *tags, check=False)


_CI_LINE = re.compile(r"(efficiency|wastedBytes|userWastedPercent):\s*([^\s]+)")


def run_dive(archive: Path, json_path: Path) -> dict:
    """dive's figures for a docker-save archive: JSON export plus the --ci summary."""
    if json_path.exists():
        json_path.unlink()
    subprocess.run([DIVE, "--source", "docker-archive", str(archive), "--json", str(json_path)], check=True, capture_output=True)
    report = json.loads(json_path.read_text())
    ci = subprocess.run(
        [DIVE, "--source", "docker-archive", str(archive), "--ci", "--lowestEfficiency", "0", "--highestUserWastedPercent", "disabled"],
        capture_output=True,
        text=True,
    )
    text = re.sub(r"\x1b\[[0-9;]*m", "", ci.stdout)
    summary = dict(_CI_LINE.findall(text))
    return {
        "size_bytes": report["image"]["sizeBytes"],
        "wasted_bytes": report["image"]["inefficientBytes"],
        "efficiency": report["image"]["efficiencyScore"],
        "layer_sizes": [layer["sizeBytes"] for layer in report["layer"]],
        "files": sorted((r["file"], r["count"], r["sizeBytes"]) for r in report["image"]["fileReference"]),
        "user_wasted_percent_text": summary.get("userWastedPercent"),  # "12.3456" (percent, 4 decimals) / "NaN" / "+Inf"
    }


def percent_text(ratio: float) -> str:
    """How dive --ci prints userWastedPercent (``%.4f`` of the percentage)."""
    import math

    if math.isnan(ratio):
        return "NaN"
    if math.isinf(ratio):
        return "+Inf"
    return f"{ratio * 100:.4f}"
