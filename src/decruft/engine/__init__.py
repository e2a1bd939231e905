"""Talking to a real Docker engine: finding a BuildKit build path, running builds."""

from decruft.engine.buildkit import (
    BuildCommand,
    BuildError,
    BuildKind,
    BuildPath,
    BuildResult,
    DockerNotFoundError,
    EngineError,
    EngineStatus,
    EngineUnavailableError,
    clear_probe_cache,
    docker_client,
    engine_reachable,
    engine_status,
    find_build_path,
    require_engine,
    run_build,
)

__all__ = [
    "BuildCommand",
    "BuildError",
    "BuildKind",
    "BuildPath",
    "BuildResult",
    "DockerNotFoundError",
    "EngineError",
    "EngineStatus",
    "EngineUnavailableError",
    "clear_probe_cache",
    "docker_client",
    "engine_reachable",
    "engine_status",
    "find_build_path",
    "require_engine",
    "run_build",
]
