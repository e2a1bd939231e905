"""An audit keeps nothing of the files it read once its results are returned."""

from __future__ import annotations

import gc

from decruft.audit import audit_source
from decruft.dockerfile.nodes import Dockerfile
from decruft.shell import ShellScript
from tests.corpus.generate import realworld


def _alive(kind) -> int:
    gc.collect()
    return sum(1 for obj in gc.get_objects() if isinstance(obj, kind))


def test_parse_trees_are_freed_after_the_audit():
    before = (_alive(Dockerfile), _alive(ShellScript))
    results = [audit_source(data, name) for name, data in realworld()]
    assert sum(len(r.findings) for r in results) > 50  # the results themselves stay
    assert (_alive(Dockerfile), _alive(ShellScript)) == before
