"""JSON schema of inspect/diff, the CI gate (--fail-on expressions, dive's .dive-ci), the CLI."""

from __future__ import annotations

import json
import math

import pytest
from click.testing import CliRunner

from decruft.cli import main
from decruft.image.analysis import analyze
from decruft.image.diff import diff_images
from decruft.image.report import (
    GateConfigError,
    diff_dict,
    evaluate_gate,
    format_bytes,
    inspect_dict,
    parse_bytes,
    parse_dive_ci,
    parse_rule,
    parse_rules,
    read_dive_ci_values,
)

from tests.image.builders import ArchiveLayer, d, f, image, layer, opq, wh, write_docker_archive


def sample_image():
    return image(
        layer(d("var/lib/apt/lists"), f("var/lib/apt/lists/x_Packages", 30_000_000), f("usr/bin/curl", 200_000),
              created_by="RUN /bin/sh -c apt-get update && apt-get install -y curl # buildkit"),
        layer(d("app"), f("app/main.py", 1_000), f("app/.env", 50), d("app/cache"), f("app/cache/a", 5_000),
              created_by="COPY . /app # buildkit"),
        layer(wh("app/cache"), f("app/main.py", 1_000, mode=0o755), opq("app"), d("app"),
              created_by="RUN /bin/sh -c chmod +x /app/main.py && rm -rf /app/cache # buildkit"),
    )


# --------------------------------------------------------------------------- sizes


@pytest.mark.parametrize(
    "text,value",
    [
        ("0", 0),
        ("42", 42),
        ("20MB", 20_000_000),
        ("20 MB", 20_000_000),
        ("20mb", 20_000_000),
        ("20MiB", 20 * 1024 * 1024),
        ("1.5GB", 1_500_000_000),
        ("1,000kB", 1_000_000),
        ("10K", 10_000),
        ("10Ki", 10_240),
        ("0.3KB", 300),
        ("0.299KB", 299),
        ("299 B", 299),
        ("5b", 5),
    ],
)
def test_parse_bytes_like_go_humanize(text, value):
    assert parse_bytes(text) == value


@pytest.mark.parametrize("text", ["", "off", "MB", "1e3", "1.2.3", " 5", "-1", "5 bananas", "1..", "."])
def test_parse_bytes_rejects(text):
    with pytest.raises(ValueError):
        parse_bytes(text)


def test_format_bytes_decimal_units():
    assert [format_bytes(v) for v in (0, 999, 1000, 1_500_000, 2_000_000_000, None)] == [
        "0 B", "999 B", "1.0 kB", "1.5 MB", "2.0 GB", "-"
    ]


# --------------------------------------------------------------------------- --fail-on


@pytest.mark.parametrize(
    "text,metric,op,threshold",
    [
        ("reclaimable>20MB", "reclaimable", ">", 20_000_000),
        ("cruft>50MB", "cruft", ">", 50_000_000),
        ("cruft.apt-lists>0", "cruft.apt-lists", ">", 0),
        ("cruft.docs >= 1MiB", "cruft.docs", ">=", 1 << 20),
        ("cruft.secret>0", "cruft.secret", ">", 0),
        ("efficiency<0.95", "efficiency", "<", 0.95),
        ("wasted>10MB", "wasted", ">", 10_000_000),
        ("user-wasted-percent>0.1", "user-wasted-percent", ">", 0.1),
        ("user-wasted-percent>10%", "user-wasted-percent", ">", 0.1),
        ("  layers > 20 ", "layers", ">", 20),
        ("secrets>0", "secrets", ">", 0),
        ("final-size>1GB", "final-size", ">", 1_000_000_000),
        ("Reclaimable<=1kB", "reclaimable", "<=", 1000),
    ],
)
def test_parse_rule(text, metric, op, threshold):
    rule = parse_rule(text, known_cruft={"apt-lists", "docs", "secret"})
    assert (rule.metric, rule.op) == (metric, op)
    assert rule.threshold == pytest.approx(threshold)


@pytest.mark.parametrize(
    "text,message",
    [
        ("reclaimable", "expected METRIC>VALUE"),
        ("reclaimable=5", "expected METRIC>VALUE"),
        ("bogus>5", "unknown metric"),
        ("cruft.nope>0", "unknown cruft class"),
        ("reclaimable>lots", "reclaimable>lots"),
        ("efficiency<high", "efficiency<high"),
        ("layers>2.5", "layers>2.5"),
    ],
)
def test_parse_rule_errors(text, message):
    with pytest.raises(GateConfigError, match=message):
        parse_rule(text, known_cruft={"apt-lists"})


def test_parse_rules_accepts_commas_and_repeats():
    rules = parse_rules(("reclaimable>20MB,cruft>50MB", "efficiency<0.95"))
    assert [r.metric for r in rules] == ["reclaimable", "cruft", "efficiency"]
    assert [r.needs_dive for r in rules] == [False, False, True]


def test_gate_fails_on_the_rules_that_are_true_and_says_which():
    analysis = analyze(sample_image(), dive=True)
    rules = parse_rules(("reclaimable>1MB", "cruft.apt-lists>0", "cruft>100MB", "secrets>0", "efficiency<0.5"))
    gate = evaluate_gate(analysis, rules)
    assert [(o.rule.text, o.failed) for o in gate.outcomes] == [
        ("reclaimable>1MB", False),
        ("cruft.apt-lists>0", True),
        ("cruft>100MB", False),
        ("secrets>0", False),  # the .env was hidden by the opaque app/
        ("efficiency<0.5", False),
    ]
    assert not gate.passed
    assert gate.failures[0].message == "cruft.apt-lists = 30.0 MB > 0 B"


def test_gate_comparisons_are_strict_like_dive():
    analysis = analyze(image([d("a"), f("a/x", 100)], [d("a"), f("a/x", 200)]), dive=True)
    # efficiency is exactly 1/3, wasted exactly 300, userWastedPercent exactly 1.5
    rules = parse_rules((f"efficiency<{1 / 3!r}", "wasted>300", "user-wasted-percent>1.5"))
    assert evaluate_gate(analysis, rules).passed
    rules = parse_rules(("efficiency<0.34", "wasted>299"))
    assert [o.failed for o in evaluate_gate(analysis, rules).outcomes] == [True, True]


def test_gate_nan_passes_and_infinity_fails_like_dive():
    nan = analyze(image([d("a")], [d("a")]), dive=True)
    assert math.isnan(nan.dive.user_wasted_percent)
    assert evaluate_gate(nan, parse_rules(("user-wasted-percent>0.1",))).passed
    inf = analyze(image([f("a", 100)], [wh("a")]), dive=True)
    assert not evaluate_gate(inf, parse_rules(("user-wasted-percent>0.1",))).passed


# --------------------------------------------------------------------------- .dive-ci


@pytest.mark.parametrize(
    "text,expected",
    [
        ("", {"lowestEfficiency": "0.9", "highestWastedBytes": "disabled", "highestUserWastedPercent": "0.1"}),
        (
            "rules:\n  # If the efficiency is measured below X%, mark as failed.\n  lowestEfficiency: 0.95\n"
            "  highestWastedBytes: 20MB\n  highestUserWastedPercent: 0.20\n",
            {"lowestEfficiency": "0.95", "highestWastedBytes": "20MB", "highestUserWastedPercent": "0.2"},
        ),
        (
            "rules:\n    lowestefficiency: '0.5'   # quoted\n    HighestWastedBytes: \"disabled\"\n",
            {"lowestEfficiency": "0.5", "highestWastedBytes": "disabled", "highestUserWastedPercent": "0.1"},
        ),
        (
            "rules: {lowestEfficiency: 0.7, highestUserWastedPercent: disabled}\n",
            {"lowestEfficiency": "0.7", "highestWastedBytes": "disabled", "highestUserWastedPercent": "disabled"},
        ),
        (
            "lowestEfficiency: 0.99\nother:\n  lowestEfficiency: 0.1\n",  # only keys under rules: count
            {"lowestEfficiency": "0.9", "highestWastedBytes": "disabled", "highestUserWastedPercent": "0.1"},
        ),
        (
            "rules:\n  highestWastedBytes: 20000000\n  lowestEfficiency: 1\n  highestUserWastedPercent: false\n",
            {"lowestEfficiency": "1", "highestWastedBytes": "20000000", "highestUserWastedPercent": "false"},
        ),
    ],
)
def test_read_dive_ci_values(text, expected):
    assert read_dive_ci_values(text) == expected


def test_parse_dive_ci_rules_and_disabled():
    rules, disabled = parse_dive_ci("rules:\n  lowestEfficiency: 0.95\n  highestWastedBytes: 20MB\n")
    assert [(r.metric, r.op, r.threshold, r.source) for r in rules] == [
        ("efficiency", "<", 0.95, ".dive-ci"),
        ("wasted", ">", 20_000_000, ".dive-ci"),
        ("user-wasted-percent", ">", 0.1, ".dive-ci"),
    ]
    assert disabled == []
    rules, disabled = parse_dive_ci("rules:\n  lowestEfficiency: disabled\n")
    assert disabled == ["lowestEfficiency", "highestWastedBytes"]
    assert [r.metric for r in rules] == ["user-wasted-percent"]


@pytest.mark.parametrize(
    "text,message",
    [
        ("rules:\n  lowestEfficiency: 1.5\n", "outside allowed range"),
        ("rules:\n  highestUserWastedPercent: 1.6\n", "outside allowed range"),
        ("rules:\n  lowestEfficiency: false\n", "invalid config value"),  # only 'disabled' disables
        ("rules:\n  highestWastedBytes: off\n", "invalid config value"),
        ("rules:\n  highestWastedBytes: 1.2.3\n", "invalid config value"),
        ("rules:\n  lowestEfficiency: \"\"\n", "invalid config value"),
        ("rules:\n  lowestEfficiency: Disabled\n", "invalid config value"),  # dive compares exactly
    ],
)
def test_parse_dive_ci_misconfigured(text, message):
    with pytest.raises(GateConfigError, match=message):
        parse_dive_ci(text)


# --------------------------------------------------------------------------- JSON


def test_inspect_json_schema_fields():
    analysis = analyze(sample_image(), dive=True)
    gate = evaluate_gate(analysis, parse_rules(("reclaimable>1kB",)))
    data = json.loads(json.dumps(inspect_dict(analysis, top=5, gate=gate), allow_nan=False))
    assert data["schema"] == "decruft.inspect/1"
    for key in ("reference", "source", "platform", "size_bytes", "final_bytes", "final_files", "tar_bytes",
                "compressed_bytes", "reclaimable_bytes", "layers", "waste", "cruft", "duplicates",
                "efficiency", "wasted_bytes", "user_wasted_percent", "dive", "gate", "warnings"):
        assert key in data, key
    assert data["size_bytes"] == 30_000_000 + 200_000 + 1_000 + 50 + 5_000 + 1_000
    layer0, layer1, layer2 = data["layers"]
    assert layer0["created_by"] == "RUN apt-get update && apt-get install -y curl"
    assert layer0["created_by_full"].endswith("# buildkit")
    for key in ("index", "diff_id", "size_bytes", "tar_bytes", "files", "added", "modified", "deleted",
                "wasted_bytes", "hidden_bytes", "whiteouts", "opaque_whiteouts"):
        assert key in layer2
    # layer 2: the opaque app/ hides main.py, .env and cache/a (all of layer 1), then re-adds main.py
    assert layer2["deleted"] == {"paths": 3, "bytes": 6_050}
    assert layer2["added"] == {"paths": 1, "bytes": 1_000}
    assert layer2["hidden_bytes"] == 6_050 and layer1["wasted_bytes"] == 6_050
    assert data["reclaimable_bytes"] == 6_050
    assert data["waste"]["by_kind"]["opaque"] == 6_050
    assert data["waste"]["top"][0] == {"path": "app/", "kind": "opaque", "bytes": 6_050, "files": 3, "written_by": 1, "hidden_by": 2}
    assert data["waste"]["matrix"] == [{"written_by": 1, "hidden_by": 2, "bytes": 6_050}]
    apt = next(c for c in data["cruft"]["classes"] if c["id"] == "apt-lists")
    assert apt["bytes"] == 30_000_000 and apt["top"][0]["path"] == "var/lib/apt/lists/x_Packages"
    assert {"id", "title", "category", "informational", "bytes", "files", "why", "fix", "top", "largest_files"} <= set(apt)
    assert data["cruft"]["bytes"] == 30_000_000  # the .env was hidden by the opaque whiteout
    assert data["duplicates"]["method"] == "size+name" and data["duplicates"]["exact"] is False
    assert data["dive"]["inefficient_files"][0]["path"] == "/app/main.py"
    assert data["gate"]["passed"] is False and data["gate"]["rules"][0]["failed"] is True


def test_inspect_json_without_dive_has_no_dive_fields():
    data = inspect_dict(analyze(sample_image()))
    assert "efficiency" not in data and "dive" not in data and "gate" not in data


def test_user_wasted_percent_nan_is_null_in_json():
    data = inspect_dict(analyze(image([d("a")], [d("a")]), dive=True))
    assert data["user_wasted_percent"] is None
    json.dumps(data, allow_nan=False)


def test_diff_json_schema():
    a = analyze(image([f("usr/bin/a", 10), d("usr/lib/python3/dist-packages/requests-2.28.1.dist-info")]))
    b = analyze(image([f("usr/bin/a", 12), f("usr/bin/b", 5), d("usr/lib/python3/dist-packages/requests-2.31.0.dist-info")]))
    data = json.loads(json.dumps(diff_dict(diff_images(a, b))))
    assert data["schema"] == "decruft.diff/1"
    assert data["files"]["added"] == {"count": 1, "bytes": 5, "top": [{"path": "usr/bin/b", "bytes": 5}]}
    assert data["files"]["changed"]["top"] == [{"path": "usr/bin/a", "a_bytes": 10, "b_bytes": 12, "what": "size"}]
    assert data["top_dirs"] == [{"dir": "usr/", "a_bytes": 10, "b_bytes": 17, "delta": 7}]
    pip = next(p for p in data["packages"] if p["ecosystem"] == "pip")
    assert pip["changed"] == [{"name": "requests", "a": ["2.28.1"], "b": ["2.31.0"]}]
    assert data["shared_layers"] == 0 and data["layers"][0]["shared"] is False


# --------------------------------------------------------------------------- CLI

sources = pytest.importorskip("decruft.image.sources", reason="decruft.image.sources is not available yet")


@pytest.fixture()
def archive(tmp_path):
    path = tmp_path / "img.tar"
    write_docker_archive(
        path,
        [
            ArchiveLayer([d("var"), d("var/lib"), d("var/lib/apt"), d("var/lib/apt/lists"), f("var/lib/apt/lists/P", 3_000_000)],
                         "RUN /bin/sh -c apt-get update # buildkit"),
            ArchiveLayer([d("app"), f("app/x", 2_000_000)], "COPY . /app # buildkit"),
            ArchiveLayer([d("app"), wh("app/x")], "RUN /bin/sh -c rm /app/x # buildkit"),
        ],
    )
    return path


def test_cli_inspect_text(archive):
    result = CliRunner().invoke(main, ["inspect", str(archive), "--no-progress", "--dive-compatible"])
    assert result.exit_code == 0, result.output
    assert "reclaimable" in result.output and "2.0 MB" in result.output
    assert "apt-lists" in result.output
    assert "RUN rm /app/x" in result.output
    assert "dive-compatible" in result.output


def test_cli_inspect_json_and_gate(archive):
    result = CliRunner().invoke(main, ["inspect", str(archive), "--format", "json", "--fail-on", "reclaimable>1MB", "--fail-on", "cruft.apt-lists>0"])
    assert result.exit_code == 1
    data = json.loads(result.stdout)
    assert data["reclaimable_bytes"] == 2_000_000
    assert [r["failed"] for r in data["gate"]["rules"]] == [True, True]
    assert "gate failed: reclaimable>1MB" in result.stderr


def test_cli_inspect_gate_passes(archive):
    result = CliRunner().invoke(main, ["inspect", str(archive), "--no-progress", "--fail-on", "reclaimable>20MB,cruft>50MB"])
    assert result.exit_code == 0, result.output
    assert "gate passed" in result.output


def test_cli_inspect_dive_ci(archive, tmp_path):
    ci = tmp_path / ".dive-ci"
    ci.write_text("rules:\n  lowestEfficiency: 0.5\n  highestUserWastedPercent: disabled\n")
    result = CliRunner().invoke(main, ["inspect", str(archive), "--no-progress", "--dive-ci", str(ci)])
    # dive: wasted = 2 MB counted twice (file + whiteout record) -> efficiency 3/5 > 0.5 passes
    assert result.exit_code == 0, result.output
    ci.write_text("rules:\n  lowestEfficiency: 0.95\n")
    result = CliRunner().invoke(main, ["inspect", str(archive), "--no-progress", "--dive-ci", str(ci)])
    assert result.exit_code == 1
    assert "FAIL lowestEfficiency: 0.95" in result.output
    ci.write_text("rules:\n  lowestEfficiency: 2\n")
    result = CliRunner().invoke(main, ["inspect", str(archive), "--no-progress", "--dive-ci", str(ci)])
    assert result.exit_code == 2 and "outside allowed range" in result.stderr


def test_cli_inspect_usage_errors(archive, tmp_path):
    result = CliRunner().invoke(main, ["inspect", str(archive), "--fail-on", "bogus>1"])
    assert result.exit_code == 2 and "unknown metric" in result.stderr
    result = CliRunner().invoke(main, ["inspect", str(tmp_path / "missing.tar")])
    assert result.exit_code == 2


def test_cli_diff(archive, tmp_path):
    other = tmp_path / "other.tar"
    write_docker_archive(other, [ArchiveLayer([d("app"), f("app/y", 10), opq("app")], "COPY . /app # buildkit")])
    result = CliRunner().invoke(main, ["diff", str(archive), str(other), "--format", "json"])
    assert result.exit_code == 0, result.output
    data = json.loads(result.stdout)
    assert data["files"]["added"]["top"] == [{"path": "app/y", "bytes": 10}]
    assert data["files"]["removed"]["count"] == 1
    assert next(c for c in data["cruft"] if c["id"] == "apt-lists")["delta"] == -3_000_000
    text = CliRunner().invoke(main, ["diff", str(archive), str(other), "--no-progress"])
    assert text.exit_code == 0 and "apt-lists" in text.output


def test_cli_diff_reads_dpkg_status_contents(tmp_path):
    """With a reader that returns file contents, dpkg packages come with versions."""
    from decruft.image.model import Entry, EntryType

    def status(*packages):
        return "".join(f"Package: {name}\nStatus: install ok installed\nVersion: {version}\n\n" for name, version in packages).encode()

    old = status(("bash", "5.2.15-2"), ("curl", "7.88.1-10"))
    new = status(("bash", "5.2.15-2"), ("curl", "7.88.1-10+deb12u5"), ("jq", "1.6-2.1"))

    def archive(path, data):
        entry = Entry("var/lib/dpkg/status", EntryType.FILE, size=len(data))
        write_docker_archive(path, [ArchiveLayer([d("var"), d("var/lib"), d("var/lib/dpkg"), entry])],
                             content=lambda _i, e: data if e.path == "var/lib/dpkg/status" else None)
        return path

    a, b = archive(tmp_path / "a.tar", old), archive(tmp_path / "b.tar", new)
    result = CliRunner().invoke(main, ["diff", str(a), str(b), "--format", "json"])
    assert result.exit_code == 0, result.output
    dpkg = next(p for p in json.loads(result.stdout)["packages"] if p["ecosystem"] == "dpkg")
    if dpkg["source_a"] != "var/lib/dpkg/status":
        pytest.skip("this reader does not return file contents (open_image(read_files=...))")
    assert dpkg["added"] == [{"name": "jq", "versions": ["1.6-2.1"]}]
    assert dpkg["changed"] == [{"name": "curl", "a": ["7.88.1-10"], "b": ["7.88.1-10+deb12u5"]}]
    assert dpkg["removed"] == []
