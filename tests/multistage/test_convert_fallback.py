"""`convert_file` verifies a plan's fallback when the plan fails in one of its own ways, and
writes only a conversion that passed. The engine steps (`_run`) are replaced: what they decide
is scripted per plan."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from decruft.multistage import convert
from decruft.multistage.convert import ConvertOptions, convert_file
from tests.multistage.test_node_plan import EXAMPLES, FIXED_NODE_APP


class NoEngine:
    """What the session's clean-up calls; nothing was created."""

    def remove_container(self, name: str) -> None:
        pass

    def remove_image(self, tag: str) -> None:
        pass

    def sweep(self, token: str) -> None:
        pass


@pytest.fixture
def dockerfile(tmp_path: Path) -> Path:
    work = tmp_path / "node-app"
    shutil.copytree(EXAMPLES / "node-app", work)
    (work / "Dockerfile").write_text(FIXED_NODE_APP)
    return work / "Dockerfile"


def _scripted(monkeypatch, outcomes: dict[bool, tuple[str, str] | None]) -> list[str]:
    """``outcomes[plan installs apart]``: ``(reason, failed_at)`` or None (passes). Returns the
    texts verified, in order."""
    verified: list[str] = []

    def run(conversion, plan, *_args):
        apart = plan.fallback is not None
        verified.append(plan.render([]))
        assert conversion.original is None or not apart  # the original is built once
        conversion.original = "original image"
        outcome = outcomes[apart]
        if outcome is None:
            conversion.converted, conversion.text = True, plan.render([])
            conversion.explanation = list(plan.explanation)
        else:
            conversion.not_converted(outcome[0], "detail", failed_at=outcome[1])

    monkeypatch.setattr(convert, "_run", run)
    return verified


@pytest.mark.parametrize("failed_at", ["production node_modules", "production-dependencies"])
def test_a_failure_of_the_plan_s_own_falls_back_to_pruning(monkeypatch, dockerfile, failed_at):
    verified = _scripted(monkeypatch, {True: ("it failed", failed_at), False: None})
    conversion = convert_file(dockerfile, ConvertOptions(), engine=NoEngine())
    assert len(verified) == 2 and "--omit=dev" in verified[0] and "npm prune" in verified[1]
    assert conversion.converted and conversion.written
    assert conversion.explanation[0] == ("tried first and dropped: the production dependencies installed apart "
                                         "(stage production-dependencies): it failed")
    assert "installing them apart failed verification" in conversion.explanation[1]
    assert conversion.plan is not None and conversion.plan.fallback is None
    assert "npm prune --omit=dev" in dockerfile.read_text()
    assert dockerfile.with_name("Dockerfile.orig").read_text() == FIXED_NODE_APP


def test_any_other_failure_is_final(monkeypatch, dockerfile):
    verified = _scripted(monkeypatch, {True: ("the converted image exits with code 1", ""), False: None})
    conversion = convert_file(dockerfile, ConvertOptions(), engine=NoEngine())
    assert len(verified) == 1 and not conversion.converted and not conversion.written
    assert conversion.reason == "the converted image exits with code 1"
    assert dockerfile.read_text() == FIXED_NODE_APP


def test_when_the_fallback_fails_too_nothing_is_written(monkeypatch, dockerfile):
    _scripted(monkeypatch, {True: ("production node_modules differ", "production node_modules"),
                            False: ("the converted image exits with code 1", "")})
    conversion = convert_file(dockerfile, ConvertOptions(), engine=NoEngine())
    assert not conversion.converted and not conversion.written
    assert conversion.reason == ("the converted image exits with code 1 (tried first and dropped: the production "
                                 "dependencies installed apart (stage production-dependencies): production "
                                 "node_modules differ)")
    assert dockerfile.read_text() == FIXED_NODE_APP and not dockerfile.with_name("Dockerfile.orig").exists()
