"""What ``decruft bench`` asks of Docker: builds, cache control, push and pull, cleanup.

Builds go through `decruft.engine.run_build` (BuildKit via the docker CLI; no builder of our
own). Everything else is the docker CLI or the Engine API through docker-py.

Making a build cold without destroying other people's work
----------------------------------------------------------
``--no-cache`` makes BuildKit ignore its cache for one build, but it also ignores
``--cache-from``, so it cannot stand for "a CI runner with an empty disk that imports a
registry cache". For the CI measurements the local cache really has to be gone. ``docker
builder prune -af`` would do it, and would also throw away every other build cache on a
shared engine. Instead decruft removes only the cache records used since the benchmark began:
the engine lists its build-cache records (``GET /system/df``: id, last use, in use), and one
``docker builder prune -af --filter id=^(id1|id2|...)$`` removes them (the ``id`` filter is a
regular expression; repeated while parents become free). Cache mounts (``RUN --mount=type=cache``)
are removed whoever used them last: they are shared between all builds by id (by default the
target path), so any earlier build's ``/root/.cache/pip`` would warm a cold one. Base images
are images, not build cache, so they stay, exactly as on a runner whose base image is pulled
before the build; a record another build used in the same minutes goes too, which only makes
that build's next run slower. Images: only the tags this run created are removed (never an image by id: a
Dockerfile that only says ``FROM x`` builds the id of ``x``), plus images carrying this run's
label ``decruft-bench=<token>``.

Registry caches
---------------
With buildx and a builder that can export caches (any driver but ``docker``), the seed build
exports ``--cache-to type=registry,ref=<repo>:buildcache,mode=max`` (every intermediate step of
every stage) and the CI build imports it with ``--cache-from type=registry,ref=...``.  With the
BuildKit built into Docker 20.10-22 (no buildx) only the *inline* cache exists: the image
carries its cache metadata (``BUILDKIT_INLINE_CACHE=1``, mode=min: final-stage layers only) and
``--cache-from <image>`` reads it.  `cache_strategy` decides, `cache_arguments` builds the flags.
"""

from __future__ import annotations

import contextlib
import re
import subprocess
import time
from dataclasses import dataclass
from datetime import datetime, timezone
from typing import Callable, Mapping, Sequence

from decruft.engine.buildkit import BuildPath, BuildResult, run_build
from decruft.errors import DecruftError

LABEL = "decruft-bench"

#: BuildKit step names of Dockerfile instructions: "[2/5] RUN ...", "[builder 3/7] COPY ...".
_INSTRUCTION_STEP = re.compile(r"^\[(?:[^\]]*\s)?\d+/\d+\] (?P<keyword>[A-Z]+)\b")


class RegistryUnreachableError(DecruftError):
    """The registry for the CI measurements does not answer; the message names its address."""


class TransferError(DecruftError):
    def __init__(self, message: str, output: str) -> None:
        super().__init__(message)
        self.output = output
        self.log_tail = "\n".join(output.rstrip().splitlines()[-20:])


@dataclass(frozen=True)
class StepCounts:
    total: int  # Dockerfile instructions BuildKit ran or took from the cache (FROM excluded)
    cached: int

    @property
    def rerun(self) -> int:
        return self.total - self.cached


def step_counts(result: BuildResult) -> StepCounts:
    """Instruction steps of a BuildKit build and how many came from the cache."""
    names = result.step_names
    cached_numbers = {int(n) for n in re.findall(r"^#(\d+) CACHED$", result.log, re.MULTILINE)}
    total = cached = 0
    for number, name in names.items():
        match = _INSTRUCTION_STEP.match(name)
        if match is None or match.group("keyword") == "FROM":
            continue
        total += 1
        cached += number in cached_numbers
    return StepCounts(total, cached)


def rerun_steps(result: BuildResult) -> list[tuple[str, float]]:
    """The instruction steps that ran (not from the cache) with BuildKit's own duration
    (``#N DONE 3.2s``), slowest first: where a rebuild's time goes."""
    durations = {int(n): float(s) for n, s in re.findall(r"^#(\d+) DONE (\d+(?:\.\d+)?)s$", result.log, re.MULTILINE)}
    cached = {int(n) for n in re.findall(r"^#(\d+) CACHED$", result.log, re.MULTILINE)}
    steps = []
    for number, name in result.step_names.items():
        match = _INSTRUCTION_STEP.match(name)
        if match is None or match.group("keyword") == "FROM" or number in cached or number not in durations:
            continue
        steps.append((name, durations[number]))
    return sorted(steps, key=lambda item: -item[1])


@dataclass(frozen=True)
class CacheStrategy:
    kind: str  # "registry" (buildx, mode=max) or "inline"
    reason: str

    @property
    def description(self) -> str:
        return "registry,mode=max" if self.kind == "registry" else "inline"


def cache_strategy(path: BuildPath, driver: str | None) -> CacheStrategy:
    """Registry cache with mode=max where buildx can export one, else the inline cache."""
    if path.kind == "buildx" and driver not in (None, "docker"):
        return CacheStrategy("registry", f"buildx with the {driver} driver exports a registry cache (mode=max)")
    if path.kind == "buildx":
        return CacheStrategy("inline", "buildx's docker driver cannot export a registry cache: inline cache (mode=min)")
    if path.kind == "builtin":
        return CacheStrategy("inline", "the BuildKit built into this docker client has no --cache-to: inline cache (mode=min)")
    return CacheStrategy("inline", "the classic builder: inline cache metadata only")


def cache_arguments(strategy: CacheStrategy, cache_ref: str, *, export: bool) -> dict:
    """Keyword arguments for `run_build`: the seed build (``export``) or the seeded CI build."""
    if strategy.kind == "registry":
        if export:
            return {"extra_args": ("--cache-to", f"type=registry,ref={cache_ref},mode=max")}
        return {"cache_from": f"type=registry,ref={cache_ref}"}
    if export:
        return {"inline_cache": True}
    return {"cache_from": cache_ref}


def _parse_time(text: str | None) -> float:
    """Docker's RFC 3339 times (nanoseconds, ``Z``) as a POSIX timestamp; 0 when missing."""
    if not text or text.startswith("0001-"):
        return 0.0
    match = re.match(r"(\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d)(\.\d+)?(Z|[+-]\d\d:\d\d)?", text)
    if not match:
        return 0.0
    base = datetime.fromisoformat(match.group(1) + (match.group(3) or "Z").replace("Z", "+00:00"))
    fraction = float("0" + match.group(2)) if match.group(2) else 0.0
    return base.replace(tzinfo=base.tzinfo or timezone.utc).timestamp() + fraction


@dataclass(frozen=True)
class Transfer:
    seconds: float
    bytes: int  # compressed bytes that went over the wire (layers pushed / pulled)
    layers_sent: int
    layers_skipped: int  # already there (mounted, existed)


class BenchEngine:
    """The local Docker engine, as the benchmark uses it."""

    def __init__(self, path: BuildPath, token: str, *, build_timeout: float | None = 3600.0,
                 on_line: Callable[[str], None] | None = None) -> None:
        from decruft.engine import docker_client

        self.path = path
        self.token = token
        self.client = docker_client(timeout=600)
        self.build_timeout = build_timeout
        self.on_line = on_line
        self.tags: list[str] = []  # local tags this run created (removed at the end)
        self.pushed: list[str] = []  # registry references this run pushed

    # ------------------------------------------------------------------ builds
    def build(self, context, dockerfile, tag: str, *, no_cache: bool = False,
              build_args: Mapping[str, str] | None = None, target: str | None = None,
              **cache: object) -> BuildResult:
        self.tags.append(tag)
        return run_build(
            context, tags=tag, file=dockerfile, build_args=dict(build_args or {}), target=target,
            no_cache=no_cache, labels={LABEL: self.token}, path=self.path,
            timeout=self.build_timeout, on_line=self.on_line, **cache,  # type: ignore[arg-type]
        )

    def image_size(self, tag: str) -> tuple[int, list[str]]:
        """Uncompressed size (``docker image inspect`` Size) and the layer DiffIDs."""
        attrs = self.client.api.inspect_image(tag)
        return int(attrs.get("Size") or 0), list((attrs.get("RootFS") or {}).get("Layers") or [])

    def buildx_driver(self) -> str | None:
        if self.path.kind != "buildx":
            return None
        proc = subprocess.run([self.path.docker, "buildx", "inspect"], capture_output=True, text=True,
                              env=self.path.environ(), timeout=60)
        match = re.search(r"^Driver:\s*(\S+)", proc.stdout, re.MULTILINE)
        return match.group(1) if match else None

    # ------------------------------------------------------------------ cache control
    def build_cache_records(self, wait: float = 300.0) -> list[dict]:
        """The engine's build-cache records. The engine runs one disk-usage walk at a time and
        refuses a second one ("a disk usage operation is already running"), so wait for it."""
        import docker.errors

        deadline = time.monotonic() + wait
        while True:
            try:
                data = self.client.api.df()
                return list(data.get("BuildCache") or [])
            except docker.errors.APIError as exc:
                if "already running" not in str(exc) or time.monotonic() > deadline:
                    raise
                time.sleep(1.0)

    def prune_cache_since(self, since: float) -> int:
        """Remove the build-cache records used at or after ``since``, and every cache mount
        (``RUN --mount=type=cache`` directories are shared by all builds with the same id, by
        default the target path, so one made by any earlier build would warm a "cold" one)."""
        removed = 0
        for _round in range(4):
            ids = [record["ID"] for record in self.build_cache_records()
                   if not record.get("InUse") and (
                       record.get("Type") == "exec.cachemount"
                       or _parse_time(record.get("LastUsedAt") or record.get("CreatedAt")) >= since)]
            if not ids:
                break
            pattern = "^(" + "|".join(re.escape(i) for i in ids) + ")$"
            proc = subprocess.run(
                [self.path.docker, "builder", "prune", "-af", "--filter", f"id={pattern}"],
                capture_output=True, text=True, env=self.path.environ(), timeout=600,
            )
            if proc.returncode != 0:
                raise DecruftError(f"docker builder prune failed: {proc.stderr.strip() or proc.stdout.strip()}")
            deleted = len(re.findall(r"^[a-z0-9]{25}$", proc.stdout, re.MULTILINE))
            removed += deleted
            if deleted == 0:
                break  # what is left is shared with images (base layers) or in use
        return removed

    def remove_tag(self, tag: str) -> None:
        """Untag (the image goes when no other tag holds it; never by id, never forced)."""
        import docker.errors

        with contextlib.suppress(docker.errors.NotFound, docker.errors.APIError):
            self.client.api.remove_image(tag, force=False, noprune=False)

    def drop_local(self) -> None:
        """Every local image this run created (a CI runner starts without them)."""
        for tag in list(dict.fromkeys(self.tags)):
            self.remove_tag(tag)
        self.sweep_labelled()

    def sweep_labelled(self) -> None:
        import docker.errors

        for image in self.client.api.images(filters={"label": f"{LABEL}={self.token}"}):
            for tag in image.get("RepoTags") or []:
                if tag != "<none>:<none>":
                    self.remove_tag(tag)
            with contextlib.suppress(docker.errors.NotFound, docker.errors.APIError):
                self.client.api.remove_image(image["Id"], force=False)

    # ------------------------------------------------------------------ registry
    def push(self, ref: str, diff_ids: Sequence[str]) -> tuple[Transfer, dict]:
        """``docker push``: time, bytes sent (layers the output says were pushed), the manifest."""
        self.pushed.append(ref)
        output, seconds = self._transfer(["push", ref], f"docker push {ref}")
        manifest = self.manifest(ref)
        sizes = [layer.get("size", 0) for layer in manifest.get("layers", [])]
        states = dict(re.findall(r"^([0-9a-f]{12}): (Pushed|Layer already exists|Mounted from .*)$", output, re.MULTILINE))
        sent = skipped = 0
        total = 0
        for diff_id, size in zip(diff_ids, sizes):
            state = states.get(diff_id.split(":")[-1][:12], "")
            if state == "Pushed":
                sent += 1
                total += size
            else:
                skipped += 1
        return Transfer(seconds, total, sent, skipped), manifest

    def pull(self, ref: str, manifest: dict) -> Transfer:
        """``docker pull``: time and the bytes of the layers it downloaded."""
        self.tags.append(ref)
        output, seconds = self._transfer(["pull", ref], f"docker pull {ref}")
        states = dict(re.findall(r"^([0-9a-f]{12}): (Pull complete|Already exists)$", output, re.MULTILINE))
        sent = skipped = total = 0
        for layer in manifest.get("layers", []):
            state = states.get(layer.get("digest", "").split(":")[-1][:12], "")
            if state == "Pull complete":
                sent += 1
                total += int(layer.get("size", 0))
            else:
                skipped += 1
        return Transfer(seconds, total, sent, skipped)

    def _transfer(self, args: list[str], what: str) -> tuple[str, float]:
        start = time.perf_counter()
        proc = subprocess.Popen([self.path.docker, *args], stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                                text=True, errors="replace", env=self.path.environ(), stdin=subprocess.DEVNULL)
        lines = []
        try:
            assert proc.stdout is not None
            for line in proc.stdout:
                lines.append(line)
                if self.on_line:
                    self.on_line(line.rstrip("\n"))
            proc.wait(timeout=self.build_timeout)
        finally:
            if proc.poll() is None:
                proc.kill()
                proc.wait()
        output = "".join(lines)
        if proc.returncode != 0:
            raise TransferError(f"{what} failed (exit code {proc.returncode})", output)
        return output, time.perf_counter() - start

    def manifest(self, ref: str) -> dict:
        import requests

        host, repository, tag = split_reference(ref)
        scheme = "http" if _loopback(host) else "https"
        response = requests.get(
            f"{scheme}://{host}/v2/{repository}/manifests/{tag}", timeout=30,
            headers={"Accept": "application/vnd.docker.distribution.manifest.v2+json, "
                               "application/vnd.oci.image.manifest.v1+json"},
        )
        response.raise_for_status()
        return response.json()

    def delete_from_registry(self, ref: str) -> None:
        """Remove a pushed manifest (the registry keeps the blobs until its garbage collection)."""
        import requests

        host, repository, tag = split_reference(ref)
        scheme = "http" if _loopback(host) else "https"
        base = f"{scheme}://{host}/v2/{repository}"
        with contextlib.suppress(requests.RequestException):
            head = requests.head(f"{base}/manifests/{tag}", timeout=10, headers={
                "Accept": "application/vnd.docker.distribution.manifest.v2+json, "
                          "application/vnd.oci.image.manifest.v1+json"})
            digest = head.headers.get("Docker-Content-Digest")
            if digest:
                requests.delete(f"{base}/manifests/{digest}", timeout=10)

    def close(self) -> None:
        with contextlib.suppress(Exception):
            self.client.close()


def check_registry(address: str, timeout: float = 5.0) -> None:
    """Raise `RegistryUnreachableError` (naming ``address``) unless a registry answers ``/v2/``."""
    import requests

    scheme = "http" if _loopback(address) else "https"
    url = f"{scheme}://{address}/v2/"
    try:
        response = requests.get(url, timeout=timeout)
    except requests.RequestException as exc:
        raise RegistryUnreachableError(
            f"the registry at {address} does not answer ({type(exc).__name__} on {url}); start one "
            "(in a decruft checkout: scripts/docker-up runs one on 127.0.0.1:5000), pass --registry "
            "HOST:PORT, or skip the CI measurements with --no-ci"
        ) from None
    if response.status_code not in (200, 401):
        raise RegistryUnreachableError(
            f"{url} answers HTTP {response.status_code}: not a Docker registry (--registry {address})")


def split_reference(ref: str) -> tuple[str, str, str]:
    host, _, rest = ref.partition("/")
    repository, _, tag = rest.rpartition(":")
    if not repository or "/" in tag:
        repository, tag = rest, "latest"
    return host, repository, tag


def _loopback(address: str) -> bool:
    host = address.rsplit(":", 1)[0] if not address.startswith("[") else address[1:].split("]")[0]
    return host in ("localhost", "::1") or host.startswith("127.")
