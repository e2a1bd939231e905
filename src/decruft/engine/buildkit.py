"""Find a working BuildKit build path and run builds through the docker CLI.

No Python library drives a BuildKit build over the Engine API (docker-py's ``build()`` is the
classic builder), so builds go through a docker client, in this order:

1. ``buildx``: ``docker buildx build`` when ``docker buildx version`` works;
2. ``builtin``: a client with BuildKit built in (Docker 18.09 - 22.x, e.g. Debian's docker.io
   20.10 at ``/usr/bin/docker``) with ``DOCKER_BUILDKIT=1``, proven by a tiny real build from
   ``scratch`` exported to a temporary directory (nothing lands in the image store);
3. ``classic``: the legacy builder, with a `BuildPath.warning`: its cache and layer behaviour
   differ from BuildKit's (it builds every stage, invalidates after LABEL, ...).

The client is the ``docker=`` argument, else ``$DECRUFT_DOCKER``, else ``docker`` on ``PATH``.
When that client has no BuildKit (a Docker 23+ client without the buildx plugin), the other
docker clients on ``PATH`` and in the usual places are tried and `BuildPath.note` says which
one is used instead. ``DOCKER_HOST`` (and the rest of the environment) is passed through. The
probe result is cached per process (`clear_probe_cache` forgets it).
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import tempfile
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable, Iterable, Literal, Mapping, Sequence

from decruft.errors import DecruftError

BuildKind = Literal["buildx", "builtin", "classic"]

#: Where docker clients usually live; searched after ``PATH`` when the chosen one lacks BuildKit.
KNOWN_CLIENTS: tuple[str, ...] = ("/usr/bin/docker", "/usr/local/bin/docker")

HOW_TO_START = (
    "Start one: `scripts/docker-up` (in a decruft checkout: installs Debian's docker.io, starts "
    "dockerd, makes the test base images), or `sudo systemctl start docker`, or run `dockerd &` "
    "as root; or point DOCKER_HOST at a running engine (e.g. DOCKER_HOST=tcp://127.0.0.1:2375)."
)

_PROBE_TIMEOUT = 60.0
_BUILDKIT_LINE = re.compile(r"^#\d+ ", re.MULTILINE)


class EngineError(DecruftError):
    """Base class for problems with the Docker engine or client."""


class DockerNotFoundError(EngineError):
    """No docker client binary could be found."""


class EngineUnavailableError(EngineError):
    """No Docker engine answers; the message says how to start one."""


class BuildError(EngineError):
    """A ``docker build`` failed (or timed out). Carries the tail of its log."""

    def __init__(
        self,
        message: str,
        *,
        returncode: int | None,
        log: str,
        argv: Sequence[str],
        tail_lines: int = 40,
    ) -> None:
        self.message = message
        self.returncode = returncode
        self.log = log
        self.argv = tuple(argv)
        self.log_tail = "\n".join(log.rstrip("\n").splitlines()[-tail_lines:])
        super().__init__(str(self))

    def __str__(self) -> str:
        return f"{self.message}\n--- last lines of the build log ---\n{self.log_tail}"


@dataclass(frozen=True)
class BuildCommand:
    """What to run: ``subprocess.run(cmd.argv, env=cmd.env)`` (``env`` is the full environment)."""

    argv: tuple[str, ...]
    env: dict[str, str]


@dataclass(frozen=True)
class BuildPath:
    """A docker client and the way it builds (see the module doc)."""

    docker: str
    kind: BuildKind
    env: Mapping[str, str] = field(default_factory=dict)
    client_version: str = ""
    server_version: str = ""
    warning: str | None = None
    note: str | None = None

    @property
    def buildkit(self) -> bool:
        return self.kind != "classic"

    def environ(self, base: Mapping[str, str] | None = None) -> dict[str, str]:
        """The full environment for a build: ``base`` (default ``os.environ``) plus `env`."""
        merged = dict(os.environ if base is None else base)
        merged.update(self.env)
        return merged

    def build_command(
        self,
        context: str | os.PathLike[str],
        *,
        tags: str | Sequence[str] = (),
        file: str | os.PathLike[str] | None = None,
        build_args: Mapping[str, str] | None = None,
        target: str | None = None,
        cache_from: str | Sequence[str] = (),
        no_cache: bool = False,
        pull: bool = False,
        inline_cache: bool = False,
        labels: Mapping[str, str] | None = None,
        platform: str | None = None,
        iidfile: str | os.PathLike[str] | None = None,
        progress: str = "plain",
        extra_args: Sequence[str] = (),
        env: Mapping[str, str] | None = None,
    ) -> BuildCommand:
        """The argv and environment for one build.

        ``cache_from`` is passed as given (an image reference; buildx also takes
        ``type=registry,ref=...``). ``inline_cache`` writes BuildKit's inline cache metadata into
        the image (``BUILDKIT_INLINE_CACHE=1``) so a later ``cache_from`` can use it. The
        classic builder gets no ``--progress`` (Docker 23+ rejects it there).
        """
        argv: list[str] = [self.docker]
        if self.kind == "buildx":
            argv += ["buildx", "build", "--load"]
        else:
            argv.append("build")
        if self.kind != "classic" and progress:
            argv.append(f"--progress={progress}")
        for tag in [tags] if isinstance(tags, str) else tags:
            argv += ["-t", tag]
        if file is not None:
            argv += ["-f", os.fspath(file)]
        args = dict(build_args or {})
        if inline_cache and self.kind != "classic":
            args.setdefault("BUILDKIT_INLINE_CACHE", "1")
        for key, value in args.items():
            argv += ["--build-arg", f"{key}={value}"]
        if target:
            argv += ["--target", target]
        for ref in [cache_from] if isinstance(cache_from, str) else cache_from:
            argv += ["--cache-from", ref]
        if no_cache:
            argv.append("--no-cache")
        if pull:
            argv.append("--pull")
        for key, value in (labels or {}).items():
            argv += ["--label", f"{key}={value}"]
        if platform:
            argv += ["--platform", platform]
        if iidfile is not None:
            argv += ["--iidfile", os.fspath(iidfile)]
        argv += list(extra_args)
        argv.append(os.fspath(context))
        return BuildCommand(tuple(argv), self.environ(env))


@dataclass(frozen=True)
class BuildResult:
    """A finished build."""

    image_id: str
    tags: tuple[str, ...]
    log: str
    seconds: float
    path: BuildPath
    argv: tuple[str, ...]

    @property
    def steps(self) -> int:
        """Build steps BuildKit reported (``#N`` vertices; 0 for the classic builder)."""
        return len(set(re.findall(r"^#(\d+) ", self.log, re.MULTILINE)))

    @property
    def cached_steps(self) -> int:
        """Steps served from the cache (BuildKit ``#N CACHED``, classic ``Using cache``)."""
        if self.path.buildkit:
            return len(self.cached)
        return self.log.count(" ---> Using cache")

    @property
    def step_names(self) -> dict[int, str]:
        """BuildKit's step names by vertex number (``[2/3] RUN ...``, ``exporting to image``)."""
        names: dict[int, str] = {}
        for num, text in re.findall(r"^#(\d+) (.*)$", self.log, re.MULTILINE):
            names.setdefault(int(num), text)
        return names

    @property
    def cached(self) -> tuple[str, ...]:
        """Names of the BuildKit steps served from the cache, in log order."""
        names = self.step_names
        nums = dict.fromkeys(int(n) for n in re.findall(r"^#(\d+) CACHED$", self.log, re.MULTILINE))
        return tuple(names.get(n, f"#{n}") for n in nums)


# --------------------------------------------------------------------------------------------
# Engine
# --------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class EngineStatus:
    reachable: bool
    docker_host: str
    server_version: str = ""
    api_version: str = ""
    message: str = ""


def _docker_host() -> str:
    return os.environ.get("DOCKER_HOST") or "unix:///var/run/docker.sock"


def engine_status(timeout: float = 10.0) -> EngineStatus:
    """Ask the engine at ``DOCKER_HOST`` (default socket) for its version, over the API."""
    host = _docker_host()
    try:
        import docker  # docker-py
    except ImportError:  # pragma: no cover - a dependency; fall back to the CLI
        return _engine_status_cli(timeout)
    try:
        client = docker.from_env(version="auto", timeout=int(max(1, timeout)))
        try:
            info = client.version()
        finally:
            client.close()
    except Exception as exc:  # docker.errors.DockerException, requests errors, OSError
        return EngineStatus(
            False, host, message=f"No Docker engine answers at {host} ({_short(exc)}). {HOW_TO_START}"
        )
    return EngineStatus(True, host, str(info.get("Version", "")), str(info.get("ApiVersion", "")))


def _engine_status_cli(timeout: float) -> EngineStatus:  # pragma: no cover - docker-py present
    host = _docker_host()
    exe = shutil.which(os.environ.get("DECRUFT_DOCKER") or "docker")
    if exe is None:
        return EngineStatus(False, host, message=f"No docker client found. {HOW_TO_START}")
    rc, out = _run([exe, "version", "--format", "{{.Server.Version}}"], timeout=timeout)
    if rc != 0:
        return EngineStatus(False, host, message=f"No Docker engine answers at {host} ({out.strip()}). {HOW_TO_START}")
    return EngineStatus(True, host, out.strip())


def engine_reachable(timeout: float = 10.0) -> bool:
    """True when a Docker engine answers at ``DOCKER_HOST`` (see `engine_status`)."""
    return engine_status(timeout).reachable


def require_engine(timeout: float = 10.0) -> EngineStatus:
    """`engine_status`, raising `EngineUnavailableError` (with how to start one) when down."""
    status = engine_status(timeout)
    if not status.reachable:
        raise EngineUnavailableError(status.message)
    return status


def docker_client(timeout: int = 120):  # -> docker.DockerClient
    """A docker-py client for API calls (image inspection, save, history), from the environment."""
    import docker

    try:
        return docker.from_env(version="auto", timeout=timeout)
    except Exception as exc:
        raise EngineUnavailableError(f"No Docker engine answers at {_docker_host()} ({_short(exc)}). {HOW_TO_START}") from exc


# --------------------------------------------------------------------------------------------
# Finding the build path
# --------------------------------------------------------------------------------------------

_cache: dict[tuple, BuildPath] = {}
_cache_lock = threading.Lock()


def clear_probe_cache() -> None:
    """Forget the cached `find_build_path` results (e.g. after installing buildx)."""
    with _cache_lock:
        _cache.clear()


def find_build_path(docker: str | None = None, *, search: Iterable[str] | None = None) -> BuildPath:
    """The best way to build here: buildx, else built-in BuildKit, else classic (with a warning).

    ``docker`` is the client to use (a path or a name on ``PATH``); default ``$DECRUFT_DOCKER``,
    else ``docker``. If it has no BuildKit, the clients in ``search`` (default: every ``docker``
    on ``PATH``, then `KNOWN_CLIENTS`) are tried, and `BuildPath.note` says so. Raises
    `DockerNotFoundError` when there is no client and `EngineUnavailableError` when no engine
    answers (BuildKit cannot be probed without one).
    """
    chosen = docker or os.environ.get("DECRUFT_DOCKER") or "docker"
    search_list = tuple(search) if search is not None else None
    key = (
        chosen,
        search_list,
        os.environ.get("DOCKER_HOST"),
        os.environ.get("DOCKER_CONTEXT"),
        os.environ.get("DOCKER_CONFIG"),
        os.environ.get("PATH"),
    )
    with _cache_lock:
        hit = _cache.get(key)
    if hit is not None:
        return hit
    result = _find(chosen, search_list, user_chose=bool(docker or os.environ.get("DECRUFT_DOCKER")))
    with _cache_lock:
        _cache[key] = result
    return result


def _resolve(name: str) -> str | None:
    if os.sep in name:
        return name if os.path.isfile(name) and os.access(name, os.X_OK) else None
    return shutil.which(name)


def _path_clients() -> list[str]:
    found = []
    for d in os.environ.get("PATH", "").split(os.pathsep):
        exe = os.path.join(d or ".", "docker")
        if os.path.isfile(exe) and os.access(exe, os.X_OK):
            found.append(exe)
    return found


def _find(chosen: str, search: tuple[str, ...] | None, *, user_chose: bool) -> BuildPath:
    first = _resolve(chosen)
    if first is None and user_chose:
        raise DockerNotFoundError(
            f"docker client {chosen!r} not found (set by the docker argument or DECRUFT_DOCKER)"
        )
    candidates: list[str] = [first] if first else []
    for other in search if search is not None else (*_path_clients(), *KNOWN_CLIENTS):
        exe = _resolve(other)
        if exe and all(not _same_file(exe, c) for c in candidates):
            candidates.append(exe)
    if not candidates:
        raise DockerNotFoundError(
            "no docker client found on PATH or in /usr/bin, /usr/local/bin; install one "
            f"(Debian: apt-get install docker.io). {HOW_TO_START}"
        )

    server_version = _require_server(candidates[0])
    for exe in candidates:
        client_version = _client_version(exe)
        kind = _probe_buildkit(exe)
        if kind is None:
            continue
        note = None
        if exe != candidates[0]:
            note = (
                f"{candidates[0]} ({_client_version(candidates[0]) or 'unknown version'}) has no "
                f"BuildKit (no buildx plugin, no built-in BuildKit); building with {exe} "
                f"({client_version or 'unknown version'}, {_KIND_TEXT[kind]}) instead"
            )
        env = {"DOCKER_BUILDKIT": "1"} if kind == "builtin" else {}
        return BuildPath(exe, kind, env, client_version, server_version, note=note)

    exe = candidates[0]
    warning = (
        f"no docker client here builds with BuildKit (tried {', '.join(candidates)}): building "
        f"with the classic builder of {exe}, whose cache and layers differ from BuildKit's "
        "(every stage is built, LABEL/CMD invalidate the cache, no RUN --mount). Install the buildx "
        "plugin (Debian 13: docker-buildx) or use a client with built-in BuildKit (Debian 12: docker.io)."
    )
    return BuildPath(exe, "classic", {"DOCKER_BUILDKIT": "0"}, _client_version(exe), server_version, warning=warning)


_KIND_TEXT = {"buildx": "buildx", "builtin": "built-in BuildKit", "classic": "classic builder"}


def _same_file(a: str, b: str) -> bool:
    try:
        return os.path.samefile(a, b)
    except OSError:
        return a == b


def _run(argv: Sequence[str], *, env: Mapping[str, str] | None = None, timeout: float = _PROBE_TIMEOUT,
         stdin: str | None = None) -> tuple[int, str]:
    merged = dict(os.environ)
    if env:
        merged.update(env)
    try:
        proc = subprocess.run(
            list(argv), input=stdin, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
            env=merged, text=True, errors="replace", timeout=timeout,
            stdin=None if stdin is not None else subprocess.DEVNULL,
        )
    except subprocess.TimeoutExpired as exc:
        out = exc.output or ""
        return 124, out if isinstance(out, str) else out.decode(errors="replace")
    except OSError as exc:
        return 127, str(exc)
    return proc.returncode, proc.stdout


def _client_version(exe: str) -> str:
    rc, out = _run([exe, "version", "--format", "{{.Client.Version}}"], timeout=20)
    # Without an engine the client still prints its own version first (and fails).
    line = out.strip().splitlines()[0] if out.strip() else ""
    return line if re.fullmatch(r"[0-9][\w.+~-]*", line) else ""


def _require_server(exe: str) -> str:
    rc, out = _run([exe, "version", "--format", "{{.Server.Version}}"], timeout=30)
    version = out.strip().splitlines()[-1] if out.strip() else ""
    if rc != 0 or not re.fullmatch(r"[0-9][\w.+~-]*", version):
        raise EngineUnavailableError(
            f"No Docker engine answers at {_docker_host()} ({_short(out) or f'exit code {rc}'}). {HOW_TO_START}"
        )
    return version


def _probe_buildkit(exe: str) -> BuildKind | None:
    """``buildx`` or ``builtin`` when this client builds with BuildKit, else None."""
    rc, _ = _run([exe, "buildx", "version"], timeout=20)
    if rc == 0:
        return "buildx"
    with tempfile.TemporaryDirectory(prefix="decruft-probe-") as tmp:
        rc, out = _run(
            [exe, "build", "--progress=plain", "--output", f"type=local,dest={tmp}/out", "-"],
            env={"DOCKER_BUILDKIT": "1"},
            stdin="FROM scratch\n",
        )
    return "builtin" if rc == 0 and _BUILDKIT_LINE.search(out) else None


def _short(exc: object, limit: int = 300) -> str:
    text = " ".join(str(exc).split())
    return text if len(text) <= limit else text[: limit - 3] + "..."


# --------------------------------------------------------------------------------------------
# Running a build
# --------------------------------------------------------------------------------------------


def run_build(
    context: str | os.PathLike[str],
    *,
    tags: str | Sequence[str] = (),
    file: str | os.PathLike[str] | None = None,
    build_args: Mapping[str, str] | None = None,
    target: str | None = None,
    cache_from: str | Sequence[str] = (),
    no_cache: bool = False,
    pull: bool = False,
    inline_cache: bool = False,
    labels: Mapping[str, str] | None = None,
    platform: str | None = None,
    extra_args: Sequence[str] = (),
    env: Mapping[str, str] | None = None,
    path: BuildPath | None = None,
    docker: str | None = None,
    timeout: float | None = None,
    on_line: Callable[[str], None] | None = None,
) -> BuildResult:
    """Build ``context`` and return the image id, the log and the wall time.

    ``path`` defaults to `find_build_path(docker)`. ``on_line`` receives each log line as it
    comes. Raises `BuildError` (with the log tail) when the build fails or exceeds ``timeout``
    seconds.
    """
    bp = path or find_build_path(docker)
    tag_list = (tags,) if isinstance(tags, str) else tuple(tags)
    with tempfile.TemporaryDirectory(prefix="decruft-build-") as tmp:
        iidfile = Path(tmp) / "iid"
        cmd = bp.build_command(
            context, tags=tag_list, file=file, build_args=build_args, target=target,
            cache_from=cache_from, no_cache=no_cache, pull=pull, inline_cache=inline_cache,
            labels=labels, platform=platform, iidfile=iidfile, extra_args=extra_args, env=env,
        )
        start = time.perf_counter()
        returncode, log, timed_out = _stream(cmd, timeout, on_line)
        seconds = time.perf_counter() - start
        image_id = iidfile.read_text().strip() if iidfile.exists() else ""
    if timed_out:
        raise BuildError(f"docker build timed out after {timeout:g}s", returncode=returncode, log=log, argv=cmd.argv)
    if returncode != 0:
        raise BuildError(f"docker build failed (exit code {returncode})", returncode=returncode, log=log, argv=cmd.argv)
    if not image_id:
        raise BuildError("docker build wrote no image id", returncode=returncode, log=log, argv=cmd.argv)
    return BuildResult(image_id, tag_list, log, seconds, bp, cmd.argv)


def _stream(cmd: BuildCommand, timeout: float | None,
            on_line: Callable[[str], None] | None) -> tuple[int, str, bool]:
    try:
        proc = subprocess.Popen(
            cmd.argv, env=cmd.env, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT, text=True, errors="replace", bufsize=1,
        )
    except OSError as exc:
        return 127, f"cannot run {cmd.argv[0]}: {exc}\n", False
    timed_out = threading.Event()

    def kill() -> None:
        timed_out.set()
        proc.kill()

    timer = threading.Timer(timeout, kill) if timeout else None
    if timer:
        timer.daemon = True
        timer.start()
    lines: list[str] = []
    try:
        assert proc.stdout is not None
        for line in proc.stdout:
            lines.append(line)
            if on_line is not None:
                on_line(line.rstrip("\n"))
        proc.wait()
    finally:
        if timer:
            timer.cancel()
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    return proc.returncode, "".join(lines), timed_out.is_set()
