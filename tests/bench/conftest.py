"""Fixtures for the bench tests: a result with every figure, built by hand (no engine)."""

from __future__ import annotations

import pytest

from decruft.bench.model import BenchResult, LayerSize, SideError, SideResult, TreemapCell


def make_side(name: str, scale: float) -> SideResult:
    side = SideResult(name, f"{name}/Dockerfile", image_size_bytes=int(800_000_000 * scale),
                      compressed_size_bytes=int(300_000_000 * scale), layers=9 if scale > 0.5 else 6,
                      files=int(30_000 * scale), steps=7, cruft_bytes=int(90_000_000 * scale))
    samples = {
        "cold_build_s": [40.0, 38.5, 41.2], "warm_rebuild_s": [12.0, 11.0, 13.5],
        "dep_rebuild_s": [30.0, 31.0, 29.0], "ci_nocache_s": [45.0, 44.0, 47.0],
        "ci_registry_cache_s": [9.0, 8.0, 10.0], "push_s": [3.0, 2.5, 3.5], "pull_s": [4.0, 5.0, 4.5],
    }
    for key, values in samples.items():
        for value in values:
            side.add(key, round(value * scale, 3))
    for key, values in {"warm_rebuild_steps_rerun": [3, 3, 3], "warm_rebuild_steps_cached": [4, 4, 4],
                        "dep_rebuild_steps_rerun": [5, 5, 5], "dep_rebuild_steps_cached": [2, 2, 2],
                        "ci_registry_cache_steps_rerun": [0, 0, 1], "ci_registry_cache_steps_cached": [7, 7, 6],
                        "push_bytes": [1000, 1200, 1100], "pull_bytes": [5000, 5000, 5000]}.items():
        for value in values:
            side.add(key, value)
    side.rerun_steps = {"warm_rebuild": [("[5/7] RUN npm run build", round(9.0 * scale, 3)), ("[4/7] COPY . .", 0.2)]}
    side.layer_sizes = [LayerSize(0, "", int(120_000_000 * scale)), LayerSize(1, "RUN apt-get update", 40_000_000),
                        LayerSize(2, "COPY . . # <script>", int(600_000_000 * scale), 200_000_000)]
    side.treemap = [
        TreemapCell("usr", "usr/lib/x86_64-linux-gnu", "-", int(300_000_000 * scale), 900),
        TreemapCell("usr", "usr/share/doc", "docs", int(20_000_000 * scale), 400),
        TreemapCell("usr", "usr/lib/gcc", "toolchain", int(150_000_000 * scale), 80),
        TreemapCell("root", "root/.cache/pip", "pip-cache", int(60_000_000 * scale), 50),
        TreemapCell("app", "app", "-", 2_000_000, 12),
    ]
    return side


@pytest.fixture
def result() -> BenchResult:
    out = BenchResult(project="examples/demo", dockerfile="examples/demo/Dockerfile", context="examples/demo",
                      optimised_from="fix", repeat=3, fixes=["DC101", "DC130"],
                      engine={"docker": "/usr/bin/docker", "build_path": "builtin", "server_version": "20.10.24"},
                      registry="127.0.0.1:5000", ci_cache="inline", changed_source="app.py",
                      changed_manifest="requirements.txt", optimised_text="FROM python:3.11-slim\n",
                      started_at="2026-11-27T23:00:00+00:00", duration_s=321.0)
    out.original = make_side("original", 1.0)
    out.optimised = make_side("optimised", 0.4)
    return out


@pytest.fixture
def failed_result(result: BenchResult) -> BenchResult:
    assert result.optimised is not None
    result.optimised = SideResult("optimised", "fixed/Dockerfile", error=SideError(
        "cold build", "docker build failed (exit code 1)", "#7 [3/4] RUN make\n#7 ERROR: process \"/bin/sh -c make\" did not complete successfully: exit code: 2"))
    return result
