"""Every case of /work/shared/testdata/layer_vectors.json (OCI image-spec whiteout examples and
the config-history -> layer mapping) must pass."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from decruft.image.analysis import analyze, apply_layers
from decruft.image.model import EntryType, HistoryEntry

from tests.image.builders import from_tar_names, image

VECTORS = Path("/work/shared/testdata/layer_vectors.json")
if not VECTORS.exists():  # a copy may sit beside the tests
    VECTORS = Path(__file__).resolve().parent.parent / "data" / "layer_vectors.json"
DATA = json.loads(VECTORS.read_text()) if VECTORS.exists() else {"whiteout_cases": [], "history_mapping": []}
pytestmark = pytest.mark.skipif(not VECTORS.exists(), reason="layer_vectors.json not found")


def _listing(nodes) -> list[str]:
    result = []
    for path, (_, entry) in nodes.items():
        is_dir = entry is None or entry.type is EntryType.DIR
        result.append(path + "/" if is_dir else path)
    return sorted(result)


@pytest.mark.parametrize("case", DATA["whiteout_cases"], ids=lambda case: case["name"])
def test_whiteout_vector(case):
    img = image(from_tar_names(case["lower"]), from_tar_names(case["layer"]))
    nodes, _, _ = apply_layers(img)
    assert _listing(nodes) == sorted(case["result"])


@pytest.mark.parametrize("case", DATA["whiteout_cases"], ids=lambda case: case["name"])
def test_whiteout_vector_in_reverse_member_order(case):
    """Whiteouts and opaque markers act on lower layers only: member order inside the layer
    must not change the result."""
    img = image(from_tar_names(case["lower"]), list(reversed(from_tar_names(case["layer"]))))
    nodes, _, _ = apply_layers(img)
    assert _listing(nodes) == sorted(case["result"])


@pytest.mark.parametrize("case", DATA["whiteout_cases"], ids=lambda case: case["name"])
def test_whiteout_vector_final_files_match_listing(case):
    analysis = analyze(image(from_tar_names(case["lower"]), from_tar_names(case["layer"])))
    expected_files = sorted(p for p in case["result"] if not p.endswith("/"))
    assert [item.path for item in analysis.files] == expected_files


def map_history(history: list[HistoryEntry], diff_ids: list[str]) -> dict[int, int | None]:
    """The rule of the vectors: each history entry with empty_layer != true consumes the next
    diff_id.  (The readers implement it; this is the reference the tests check it against.)"""
    mapping: dict[int, int | None] = {}
    layer = 0
    for position, entry in enumerate(history):
        if entry.empty_layer:
            mapping[position] = None
        else:
            mapping[position] = layer
            layer += 1
    assert layer == len(diff_ids), "non-empty history entries must equal the number of layers"
    return mapping


@pytest.mark.parametrize("case", DATA["history_mapping"], ids=lambda case: case["name"])
def test_history_mapping(case):
    history = [
        HistoryEntry(created_by=h.get("created_by", ""), created=h.get("created"), empty_layer=bool(h.get("empty_layer")))
        for h in case["history"]
    ]
    expected = {int(k): v for k, v in case["expected_mapping"].items()}
    assert map_history(history, case["diff_ids"]) == expected


@pytest.mark.parametrize("case", DATA["history_mapping"], ids=lambda case: case["name"])
def test_history_mapping_through_the_reader(case, tmp_path):
    """When the reader exists, a real archive with this config maps history the same way."""
    sources = pytest.importorskip("decruft.image.sources", reason="decruft.image.sources is not available yet")
    from tests.image.builders import ArchiveLayer, write_docker_archive

    layers = []
    pending_empty: list[str] = []
    for entry in case["history"]:
        if entry.get("empty_layer"):
            pending_empty.append(entry["created_by"])
            continue
        layers.append(ArchiveLayer([], created_by=entry["created_by"], empty_before=pending_empty))
        pending_empty = []
    archive = tmp_path / "image.tar"
    write_docker_archive(archive, layers)
    img = sources.open_image(str(archive))
    by_layer = [layer.created_by for layer in img.layers]
    expected = [h["created_by"] for h in case["history"] if not h.get("empty_layer")]
    assert by_layer == expected
    assert len(img.history) == len(case["history"])
