"""Medians, ratios and the JSON document (against its schema) of a bench result."""

from __future__ import annotations

import json
from importlib import resources

import jsonschema
import pytest

from decruft.bench.model import SideResult, median, result_from_dict


def schema() -> dict:
    return json.loads(resources.files("decruft.bench").joinpath("schema.json").read_text())


@pytest.mark.parametrize("values, expected", [([3.0], 3.0), ([5.0, 1.0, 3.0], 3.0), ([1.0, 2.0, 10.0, 4.0], 3.0), ([], None)])
def test_median_is_the_middle_sample(values, expected):
    assert median(values) == expected


def test_figure_is_the_median_and_missing_figures_stay_none():
    side = SideResult("original", "Dockerfile")
    for value in (40.0, 10.0, 12.0):
        side.add("cold_build_s", value)
    side.add("warm_rebuild_s", None)
    assert side.figure("cold_build_s") == 12.0
    assert side.figure("warm_rebuild_s") is None
    assert side.to_dict()["warm_rebuild_s"] is None


def test_required_keys_hold_medians(result):
    data = result.to_dict()
    for name in ("original", "optimised"):
        side = data["sides"][name]
        for key in ("image_size_bytes", "layers", "cold_build_s", "warm_rebuild_s", "warm_rebuild_steps_rerun",
                    "ci_nocache_s", "ci_registry_cache_s"):
            assert side[key] is not None, (name, key)
    assert data["sides"]["original"]["cold_build_s"] == 40.0
    assert data["sides"]["original"]["warm_rebuild_steps_rerun"] == 3


def test_ratios_are_optimised_over_original(result):
    ratios = result.to_dict()["ratios"]
    assert ratios["image_size_bytes"] == pytest.approx(0.4, abs=1e-4)
    assert ratios["cold_build_s"] == pytest.approx(0.4, abs=1e-3)
    within = result.to_dict()["within_side"]
    assert within["original"]["warm_rebuild_over_cold"] == pytest.approx(12.0 / 40.0, abs=1e-4)
    assert within["original"]["ci_cache_speedup"] == pytest.approx(45.0 / 9.0, abs=1e-3)


def test_document_validates_and_round_trips(result):
    data = result.to_dict()
    jsonschema.validate(data, schema())
    assert result_from_dict(json.loads(json.dumps(data))).to_dict() == data


def test_failed_side_validates_and_is_not_ok(failed_result):
    data = failed_result.to_dict()
    jsonschema.validate(data, schema())
    assert data["ok"] is False
    assert data["sides"]["optimised"]["error"]["phase"] == "cold build"
    assert data["ratios"]["cold_build_s"] is None


def test_schema_rejects_a_missing_required_figure(result):
    data = result.to_dict()
    del data["sides"]["optimised"]["ci_registry_cache_s"]
    with pytest.raises(jsonschema.ValidationError):
        jsonschema.validate(data, schema())


def test_other_documents_are_refused():
    with pytest.raises(ValueError, match="decruft-bench/1"):
        result_from_dict({"schema": "decruft-inspect/1"})
