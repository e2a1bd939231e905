"""A small client for the OCI distribution API (pull side only), used by ``decruft inspect``.

It fetches a tag's manifest (an index/manifest list or an image manifest), the config and the
layer blobs, the blobs as streams that :mod:`decruft.image.tarstream` reads once.

Authentication follows Docker's token scheme: a request answered ``401`` with
``WWW-Authenticate: Bearer realm=...,service=...,scope=...`` is retried with a token from the
realm (``GET realm?service=...&scope=repository:NAME:pull``, with basic credentials when we have
some, anonymously otherwise); a ``Basic`` challenge is answered with the credentials directly.
Credentials come from ``$DOCKER_CONFIG/config.json`` or ``~/.docker/config.json``: ``auths`` entries
(base64 ``auth`` or ``username``/``password``), and ``credHelpers``/``credsStore`` helpers
(``docker-credential-NAME get``) when the helper program is installed.

Loopback registries (``localhost``, ``127.x.x.x``, ``[::1]``) are spoken to over ``http``, all
others over ``https`` (as Docker does by default).  Every request has a connect and a read
timeout, so a silent registry fails with :class:`SourceUnreachableError` instead of hanging.

``requests`` (already a dependency of the ``docker`` package) does the HTTP: it keeps connections
alive across the many blob requests and drops the ``Authorization`` header on a redirect to
another host (registries redirect blob downloads to object storage, which rejects a second
credential).
"""

from __future__ import annotations

import base64
import json
import os
import re
import shutil
import subprocess
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from decruft.image.sources import (
    DOCKER_LIST,
    DOCKER_MANIFEST,
    MAX_JSON,
    OCI_INDEX,
    OCI_MANIFEST,
    _blob_path,
    _Ctx,
    _LayerSpec,
    _Store,
)
from decruft.image.tarstream import (
    CorruptImageError,
    EntryBudget,
    ImageError,
    ImageNotFoundError,
    ImageUnauthorizedError,
    LayerScan,
    SourceUnreachableError,
    Warnings,
    scan_stream,
)

CONNECT_TIMEOUT = 10.0
READ_TIMEOUT = 60.0
DOCKER_HUB = "docker.io"
DOCKER_HUB_API = "registry-1.docker.io"
MANIFEST_ACCEPT = ", ".join([OCI_INDEX, DOCKER_LIST, OCI_MANIFEST, DOCKER_MANIFEST])

_DIGEST_RE = re.compile(r"^[a-z0-9]+(?:[.+_-][a-z0-9]+)*:[a-zA-Z0-9=_-]+$")


@dataclass(frozen=True)
class Reference:
    host: str  # as written (docker.io for Docker Hub)
    repository: str  # library/ added for official Docker Hub images
    tag: str | None
    digest: str | None

    @property
    def reference(self) -> str:
        """What goes after ``/manifests/``: the digest when pinned, else the tag."""
        return self.digest or self.tag or "latest"

    @property
    def api_host(self) -> str:
        return DOCKER_HUB_API if self.host in (DOCKER_HUB, "index.docker.io") else self.host

    def __str__(self) -> str:
        text = f"{self.host}/{self.repository}"
        if self.tag:
            text += f":{self.tag}"
        if self.digest:
            text += f"@{self.digest}"
        return text


def parse_reference(text: str) -> Reference:
    """``[host[:port]/]repo[/more][:tag][@digest]`` -> :class:`Reference` (Docker's defaults)."""
    text = text.strip()
    if not text:
        raise ImageNotFoundError("empty image reference")
    name, _, digest = text.partition("@")
    if digest and not _DIGEST_RE.match(digest):
        raise ImageNotFoundError(f"bad digest in reference {text!r}")
    first, sep, rest = name.partition("/")
    if sep and ("." in first or ":" in first or first == "localhost" or first.startswith("[")):
        host, path = first, rest
    else:
        host, path = DOCKER_HUB, name
    tag = None
    last = path.rsplit("/", 1)[-1]
    if ":" in last:
        path, _, tag = path.rpartition(":")
    if not path or not re.fullmatch(r"[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*(?:/[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*)*", path):
        raise ImageNotFoundError(f"bad repository name in reference {text!r}")
    if tag is not None and not re.fullmatch(r"[\w][\w.-]{0,127}", tag):
        raise ImageNotFoundError(f"bad tag in reference {text!r}")
    if host in (DOCKER_HUB, "index.docker.io") and "/" not in path:
        path = f"library/{path}"
    if tag is None and not digest:
        tag = "latest"
    return Reference(host, path, tag, digest or None)


def is_loopback(host: str) -> bool:
    bare = host.rsplit(":", 1)[0] if not host.startswith("[") else host.split("]")[0] + "]"
    return bare in ("localhost", "[::1]") or bare.startswith("127.")


# ------------------------------------------------------------------------------------ credentials


def _docker_config() -> dict[str, Any]:
    base = os.environ.get("DOCKER_CONFIG") or os.path.join(os.path.expanduser("~"), ".docker")
    path = Path(base) / "config.json"
    try:
        data = path.read_bytes()
    except OSError:
        return {}
    try:
        config = json.loads(data)
    except ValueError:
        return {}
    return config if isinstance(config, dict) else {}


def _host_keys(host: str) -> list[str]:
    if host in (DOCKER_HUB, "index.docker.io", DOCKER_HUB_API):
        return ["https://index.docker.io/v1/", "index.docker.io", "docker.io", DOCKER_HUB_API]
    return [host]


def _key_host(key: str) -> str:
    key = re.sub(r"^[a-z]+://", "", key)
    return key.split("/", 1)[0]


def load_credentials(host: str) -> tuple[str, str] | None:
    """``(username, password)`` for ``host`` from the Docker CLI's config, or None."""
    config = _docker_config()
    wanted = _host_keys(host)
    helpers = config.get("credHelpers") or {}
    for key in wanted:
        if isinstance(helpers, dict) and helpers.get(key):
            creds = _from_helper(str(helpers[key]), key)
            if creds:
                return creds
    auths = config.get("auths") or {}
    if isinstance(auths, dict):
        hosts = {_key_host(k) for k in wanted} | set(wanted)
        for key, entry in auths.items():
            if key not in wanted and _key_host(key) not in hosts:
                continue
            if not isinstance(entry, dict):
                continue
            if entry.get("auth"):
                try:
                    user, _, password = base64.b64decode(entry["auth"]).decode().partition(":")
                except (ValueError, UnicodeDecodeError):
                    continue
                return user, password
            if entry.get("username") and entry.get("password"):
                return str(entry["username"]), str(entry["password"])
    store = config.get("credsStore")
    if isinstance(store, str) and store:
        for key in wanted:
            creds = _from_helper(store, key)
            if creds:
                return creds
    return None


def _from_helper(helper: str, server: str) -> tuple[str, str] | None:
    program = shutil.which(f"docker-credential-{helper}")
    if not program:
        return None
    try:
        out = subprocess.run([program, "get"], input=server.encode(), capture_output=True, timeout=10, check=False)
    except (OSError, subprocess.TimeoutExpired):
        return None
    if out.returncode != 0:
        return None
    try:
        data = json.loads(out.stdout)
        return str(data["Username"]), str(data["Secret"])
    except (ValueError, KeyError, TypeError):
        return None


# ------------------------------------------------------------------------------------------ client


def parse_challenge(header: str) -> tuple[str, dict[str, str]]:
    """``'Bearer realm="x",service="y"'`` -> ``("bearer", {"realm": "x", "service": "y"})``."""
    scheme, _, rest = header.strip().partition(" ")
    params = {}
    for match in re.finditer(r'([A-Za-z_][\w-]*)\s*=\s*(?:"((?:[^"\\]|\\.)*)"|([^\s,]*))', rest):
        value = match.group(2) if match.group(2) is not None else match.group(3)
        params[match.group(1).lower()] = re.sub(r"\\(.)", r"\1", value)
    return scheme.lower(), params


class RegistryClient:
    """Pull-side distribution API client for one repository."""

    def __init__(self, ref: Reference, *, credentials: tuple[str, str] | None = None,
                 timeout: tuple[float, float] | None = None):
        import requests

        self.ref = ref
        self.scheme = "http" if is_loopback(ref.host) else "https"
        self.base = f"{self.scheme}://{ref.api_host}"
        self.timeout = timeout or (CONNECT_TIMEOUT, READ_TIMEOUT)
        self.credentials = credentials if credentials is not None else load_credentials(ref.host)
        self.session = requests.Session()
        self.session.headers["User-Agent"] = "decruft"
        self._auth: str | None = None

    @classmethod
    def for_reference(cls, text: str) -> RegistryClient:
        return cls(parse_reference(text))

    def close(self) -> None:
        self.session.close()

    # -- HTTP

    def _unreachable(self, url: str, exc: Exception) -> SourceUnreachableError:
        import requests

        address = re.sub(r"^([a-z]+://[^/]+).*$", r"\1", url)
        if isinstance(exc, requests.exceptions.SSLError):
            why = f"TLS failed ({exc})"
        elif isinstance(exc, requests.Timeout):
            why = "timed out"
        else:
            why = f"cannot connect ({exc.__class__.__name__})"
        return SourceUnreachableError(f"registry {address} is unreachable: {why}", address=address)

    def _get(self, url: str, headers: dict[str, str] | None = None, *, stream: bool = False,
             auth: Any = None) -> Any:
        import requests

        try:
            return self.session.get(url, headers=headers or {}, stream=stream, timeout=self.timeout,
                                    auth=auth, allow_redirects=True)
        except (requests.ConnectionError, requests.Timeout) as exc:
            raise self._unreachable(url, exc) from exc
        except requests.RequestException as exc:
            raise ImageError(f"request to {url} failed: {exc}") from exc

    def request(self, path: str, headers: dict[str, str] | None = None, *, stream: bool = False,
                what: str = "") -> Any:
        """GET ``/v2/<repo>/<path>``, authenticating on a 401 challenge; returns a 2xx response."""
        url = f"{self.base}/v2/{self.ref.repository}/{path}"
        tried_auth = False
        while True:
            hdrs = dict(headers or {})
            if self._auth:
                hdrs["Authorization"] = self._auth
            resp = self._get(url, hdrs, stream=stream)
            if resp.status_code == 401 and not tried_auth:
                challenge = resp.headers.get("WWW-Authenticate", "")
                resp.close()
                self._authenticate(challenge)
                tried_auth = True
                continue
            if 200 <= resp.status_code < 300:
                return resp
            self._raise_for(resp, what or path)

    def _raise_for(self, resp: Any, what: str) -> None:
        status = resp.status_code
        try:
            body = resp.raw.read(4096, decode_content=True) or b""
        except Exception:
            body = b""
        resp.close()
        detail = ""
        try:
            errors = json.loads(body).get("errors") or []
            detail = "; ".join(f"{e.get('code')}: {e.get('message')}" for e in errors if isinstance(e, dict))
        except (ValueError, AttributeError):
            pass
        where = f"{self.ref} ({what})"
        if status == 404:
            raise ImageNotFoundError(f"not found in the registry: {where}" + (f": {detail}" if detail else ""))
        if status in (401, 403):
            who = "with the credentials from the Docker config" if self.credentials else "anonymously"
            raise ImageUnauthorizedError(
                f"the registry {self.ref.host} refused access to {self.ref.repository} {who} (HTTP {status};"
                " the repository may not exist, or it needs a login: docker login " + self.ref.host + ")"
                + (f": {detail}" if detail else ""))
        if status == 429:
            raise ImageError(f"the registry {self.ref.host} is rate-limiting us (HTTP 429) for {where}")
        raise ImageError(f"the registry {self.ref.host} answered HTTP {status} for {where}"
                         + (f": {detail}" if detail else ""))

    def _authenticate(self, challenge: str) -> None:
        scheme, params = parse_challenge(challenge) if challenge else ("", {})
        if scheme == "basic":
            if not self.credentials:
                raise ImageUnauthorizedError(
                    f"the registry {self.ref.host} wants a login and the Docker config has no credentials for it")
            user, password = self.credentials
            self._auth = "Basic " + base64.b64encode(f"{user}:{password}".encode()).decode()
            return
        if scheme != "bearer" or "realm" not in params:
            raise ImageUnauthorizedError(
                f"the registry {self.ref.host} answered 401 without a usable challenge ({challenge or 'none'})")
        query = {"scope": params.get("scope") or f"repository:{self.ref.repository}:pull"}
        if params.get("service"):
            query["service"] = params["service"]
        realm = params["realm"]
        if not re.match(r"^https?://", realm):
            raise ImageUnauthorizedError(f"the registry {self.ref.host} named a bad token realm {realm!r}")
        import requests

        try:
            resp = self.session.get(realm, params=query, timeout=self.timeout, auth=self.credentials)
        except (requests.ConnectionError, requests.Timeout) as exc:
            raise self._unreachable(realm, exc) from exc
        if resp.status_code in (401, 403):
            who = "the credentials from the Docker config" if self.credentials else "an anonymous request"
            raise ImageUnauthorizedError(
                f"the token service {realm} refused {who} for {self.ref.repository} (HTTP {resp.status_code})")
        if resp.status_code != 200:
            raise ImageError(f"the token service {realm} answered HTTP {resp.status_code}")
        try:
            data = resp.json()
            token = data.get("token") or data.get("access_token")
        except (ValueError, AttributeError):
            token = None
        if not token:
            raise ImageUnauthorizedError(f"the token service {realm} gave no token")
        self._auth = f"Bearer {token}"

    # -- API

    def _read_small(self, resp: Any, what: str) -> bytes:
        import requests

        try:
            data = resp.raw.read(MAX_JSON + 1, decode_content=True)
        except requests.RequestException as exc:
            raise self._unreachable(resp.url, exc) from exc
        except Exception as exc:  # urllib3 protocol errors
            raise CorruptImageError(f"{what}: the download broke off: {exc}") from exc
        finally:
            resp.close()
        if len(data) > MAX_JSON:
            raise CorruptImageError(f"{what} is larger than {MAX_JSON} bytes")
        return data

    def get_manifest(self, reference: str) -> tuple[bytes, str | None, str | None]:
        """``(bytes, media type, digest)`` of the manifest or index a tag or digest names."""
        resp = self.request(f"manifests/{reference}", {"Accept": MANIFEST_ACCEPT}, stream=True,
                            what=f"manifest {reference}")
        media_type = (resp.headers.get("Content-Type") or "").split(";")[0].strip() or None
        digest = resp.headers.get("Docker-Content-Digest")
        data = self._read_small(resp, f"manifest {reference}")
        if not digest:
            import hashlib

            digest = "sha256:" + hashlib.sha256(data).hexdigest()
        return data, media_type, digest

    def get_blob(self, digest: str) -> bytes:
        resp = self.request(f"blobs/{digest}", stream=True, what=f"blob {digest}")
        return self._read_small(resp, f"blob {digest}")

    def open_blob(self, digest: str) -> Any:
        """A streaming response for a blob (``.raw.read(n)``); the caller closes it."""
        resp = self.request(f"blobs/{digest}", stream=True, what=f"blob {digest}")
        resp.raw.decode_content = False
        return resp


class RegistryStore(_Store):
    """The blobs of one repository, fetched on demand."""

    kind = "registry"

    def __init__(self, client: RegistryClient, ctx: _Ctx):
        self.client = client
        self.ctx = ctx

    def has(self, digest: str) -> bool:
        return True  # a registry holds what its manifests name; a missing blob is a 404 later

    def read_json_blob(self, digest: str, what: str) -> bytes:
        _blob_path(digest)  # validates the digest
        return self.client.get_blob(digest)

    def read_manifest(self, digest: str, what: str) -> bytes:
        _blob_path(digest)
        data, _, _ = self.client.get_manifest(digest)
        return data

    def layer_spec(self, desc: dict[str, Any], ctx: _Ctx) -> _LayerSpec:
        digest = desc["digest"]
        client = self.client
        hash_contents = ctx.hash_contents

        def scan(warn: Warnings, budget: EntryBudget, progress: Callable[[int], None] | None) -> LayerScan:
            import requests

            resp = client.open_blob(digest)
            try:
                return scan_stream(resp.raw, length=desc.get("size"), hash_contents=hash_contents, warn=warn,
                                   budget=budget, progress=progress, verify=ctx.verify, read_files=ctx.read_files)
            except (requests.ConnectionError, requests.Timeout) as exc:
                raise client._unreachable(resp.url, exc) from exc
            except ImageError:
                raise
            except Exception as exc:  # urllib3 ProtocolError / ReadTimeoutError mid-stream
                name = type(exc).__name__
                if "Timeout" in name:
                    raise client._unreachable(resp.url, exc) from exc
                if "Protocol" in name or "IncompleteRead" in name or isinstance(exc, OSError):
                    raise CorruptImageError(f"blob {digest}: the download broke off: {exc}") from exc
                raise
            finally:
                resp.close()

        return _LayerSpec(key=digest, digest=digest, media_type=desc.get("mediaType"), size=desc.get("size"),
                          scan=scan, where=digest[:19])
