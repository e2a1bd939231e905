"""Shared fixtures. ``docker``: a reachable Docker engine (scripts/docker-up starts one)."""

from __future__ import annotations

import pytest


@pytest.fixture(scope="session")
def docker():
    """A docker-py client for the engine at DOCKER_HOST. Fails (never skips) when none answers:
    tests marked ``docker`` are part of the suite, and a missing engine is a broken setup."""
    from decruft.engine import engine_status, docker_client

    status = engine_status()
    if not status.reachable:
        pytest.fail(status.message, pytrace=False)
    client = docker_client()
    yield client
    client.close()
