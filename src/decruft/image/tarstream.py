"""Streaming tar header reader for image layers (and for the archives that carry them).

Why a hand-written parser rather than :mod:`tarfile`:

* ``tarfile.open(mode="r|")`` can only read forward through a file object: over an uncompressed
  layer that sits inside a seekable ``docker save`` archive it still *reads* every body it skips
  (``_Stream.seek`` reads and discards), so listing a 1 GB archive costs 1 GB of I/O.  Random-access
  mode (``"r:"``) seeks, but needs a real file object per layer and builds a ``TarInfo`` (with
  ``pax_headers`` dicts) per member; both modes also interpret ``..`` and absolute names in ways we
  do not want and cannot bound PAX header sizes.
* Here one parser serves three inputs with the exact behaviour we need: a window of a seekable file
  (headers read with ``os.pread`` from a small buffer, bodies skipped by moving an offset: I/O
  proportional to the number of headers), a decompressing stream (bodies read and discarded in
  1 MiB chunks while the uncompressed bytes are hashed for the DiffID), and the Engine API's save
  stream (an outer tar whose members are themselves layers).
* It reads ustar (with the 155-byte prefix), GNU long names/links (``L``/``K``), PAX extended and
  global headers (``x``/``g``: ``path``, ``linkpath``, ``size``, ``uid``, ``gid``, ``mtime``,
  GNU sparse 0.x/1.0 names and real sizes), old GNU sparse (``S``), base-256 numbers, and checks
  every header checksum.  Header-only types (links, devices, directories, fifos) carry no body,
  as in Go's ``archive/tar`` (what Docker uses).

Compression is detected by magic bytes (``1f 8b`` gzip, ``28 b5 2f fd`` zstd), never by name, and
decompressed as a stream with ``isal`` (python-isal's ISA-L ``igzip``: faster than zlib at
inflating -- 1.3x on a 30 MB layer on the loaded 2-core test machine, more on an idle one -- with
the same file-object API, and gzip layers dominate registry and containerd-store images; chosen
over ``zlib-ng`` for its inflate speed) and ``zstandard`` (libzstd bindings; the stdlib has no
zstd before Python 3.14).  Both readers give bounded-size
output per call, so a decompression bomb costs time, never memory.  ``zstandard``'s stream reader
does not report a truncated frame; a truncated blob is still caught by its size and digest, and a
truncated tar by the tar structure.

The header loop has an optional compiled fast path, ``decruft.image._tarscan`` (built by
``setup.py`` when a C compiler is present; hand-written because no library lists tar headers with
seeks at this speed: ``tarfile`` is slow for the reasons above and libarchive-c measured 24 us per
entry through ctypes; on the 1 GB benchmark archives of 23,000-34,000 entries ``iter_headers``
costs 7.5-8.8 us per header in Python and 2.9-4.3 us with the C loop, which itself takes
1.2-1.6 us, most of it the ``pread`` system call: benchmarks/RESULTS.md, Inspect).  It is used
for :class:`SeekInput` only (decompressing streams are bound by decompression) and takes only plain
ustar/v7/GNU headers with plain octal fields of the common types; at anything else it stops and
:func:`iter_headers` parses that header in Python.  The Python loop is the reference: it defines
the semantics and the errors, and ``DECRUFT_PURE_PYTHON_TAR=1`` makes it do all the work (the
tests compare both paths).

Memory is proportional to the number of paths: only :class:`~decruft.image.model.Entry` records
are kept, bodies are never held.

The error classes of the image readers live here (the lowest module of the package) and are
re-exported by :mod:`decruft.image.sources`.
"""

from __future__ import annotations

import hashlib
import io
import os
import posixpath
import struct
import zlib
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any, BinaryIO, Protocol

from decruft.errors import DecruftError
from decruft.image.model import Entry, EntryType

try:
    from decruft.image import _tarscan
except ImportError:  # installed without a C compiler: the pure-Python loop does all the work
    _tarscan = None  # type: ignore[assignment]

# --------------------------------------------------------------------------------------- errors


class ImageError(DecruftError):
    """Base class of every error raised while reading an image."""


class ImageNotFoundError(ImageError):
    """The reference names nothing: no such file, image, repository, tag or blob."""


class ImageUnauthorizedError(ImageError):
    """A registry refused us (HTTP 401/403), with or without credentials."""


class SourceUnreachableError(ImageError):
    """The daemon or registry at ``address`` does not answer (refused, timed out, TLS failure)."""

    def __init__(self, message: str, *, address: str) -> None:
        self.address = address
        super().__init__(message)


class UnsupportedMediaTypeError(ImageError):
    """A manifest, config or layer of a kind decruft does not read (schema 1, artifacts, encrypted)."""


class PlatformNotFoundError(ImageError):
    """The requested platform is not in the image index (``available`` lists what is)."""

    def __init__(self, message: str, *, available: list[str]) -> None:
        self.available = available
        super().__init__(message)


class CorruptImageError(ImageError):
    """The bytes are not a valid image: truncated or corrupt archive, bad JSON, missing blob."""


class DigestMismatchError(CorruptImageError):
    """A blob's digest or a layer's DiffID is not what the manifest or config says."""


class TooManyEntriesError(ImageError):
    """The image has more tar entries than the configured limit (memory guard)."""


# ------------------------------------------------------------------------------------ constants

BLOCK = 512
CHUNK = 1 << 20  # read-and-discard / hashing chunk
ZERO_BLOCK = bytes(BLOCK)
GZIP_MAGIC = b"\x1f\x8b"
ZSTD_MAGIC = b"\x28\xb5\x2f\xfd"
MAX_META_BYTES = 16 << 20  # cap for one PAX header / GNU long name body
MAX_ENTRIES = 20_000_000  # per image; ~5 GB of Entry records; a guard against hostile archives
MAX_READ_FILE = 64 << 20  # largest file whose contents ``read_files`` keeps
WARN_LIMIT = 50  # per kind of warning and layer; the rest are counted
COMPILED_BATCH = 4096  # headers per call of the compiled loop (bounds the tuples it holds)
COMPILED_MAX_BACKOFF = 64  # headers Python parses before trying again after a fruitless call
PURE_PYTHON_ENV = "DECRUFT_PURE_PYTHON_TAR"  # "1": never use the compiled loop (tests, debugging)

Progress = Callable[[str, int, "int | None"], None]


def detect_compression(head: bytes) -> str:
    """``"gzip"``, ``"zstd"`` or ``"none"`` from the first bytes of a blob."""
    if head.startswith(GZIP_MAGIC):
        return "gzip"
    if head.startswith(ZSTD_MAGIC):
        return "zstd"
    return "none"


def looks_like_tar(head: bytes) -> bool:
    """True when ``head`` starts with a valid tar header block (or an all-zero block)."""
    if len(head) < BLOCK:
        return False
    block = head[:BLOCK]
    if block == ZERO_BLOCK:
        return True
    try:
        return _checksum_ok(block)
    except CorruptImageError:
        return False


# -------------------------------------------------------------------------------------- hashing


class BackgroundHasher:
    """sha256 computed in a worker thread, so hashing overlaps reading and decompressing.

    ``hashlib`` releases the GIL while it hashes a large buffer; small updates (tar headers) are
    gathered into 1 MiB batches first.  Data is copied before it is queued (callers reuse their
    buffers); at most ``depth`` batches wait, which bounds memory to a few MiB.
    """

    BATCH = 1 << 20

    def __init__(self, depth: int = 4) -> None:
        import queue
        import threading

        self._h = hashlib.sha256()
        self._pending = bytearray()
        self._q: Any = queue.Queue(maxsize=depth)
        self._thread = threading.Thread(target=self._run, name="decruft-sha256", daemon=True)
        self._thread.start()
        self._done: str | None = None

    def _run(self) -> None:
        update = self._h.update
        get = self._q.get
        while True:
            item = get()
            if item is None:
                return
            update(item)

    def update(self, data: Any) -> None:
        if len(data) >= self.BATCH // 4:
            if self._pending:
                self._q.put(bytes(self._pending))
                self._pending.clear()
            self._q.put(bytes(data))
            return
        self._pending += data
        if len(self._pending) >= self.BATCH:
            self._q.put(bytes(self._pending))
            self._pending.clear()

    def hexdigest(self) -> str:
        if self._done is None:
            if self._pending:
                self._q.put(bytes(self._pending))
                self._pending.clear()
            self._q.put(None)
            self._thread.join()
            self._done = self._h.hexdigest()
        return self._done

    def close(self) -> None:
        """Stop the worker without a result (on errors)."""
        if self._done is None and self._thread.is_alive():
            self._pending.clear()
            self._q.put(None)
            self._thread.join()
            self._done = ""


def new_hasher(threaded: bool = True) -> Any:
    return BackgroundHasher() if threaded else hashlib.sha256()


# ---------------------------------------------------------------------------------------- inputs


class Readable(Protocol):
    def read(self, n: int = -1, /) -> bytes: ...


class TarInput:
    """What the tar parser reads from: exact reads, skips, a position."""

    pos: int = 0

    def read(self, n: int) -> bytes:  # up to n bytes; fewer only at the end
        raise NotImplementedError

    def readinto(self, buf: memoryview) -> int:
        data = self.read(len(buf))
        buf[: len(data)] = data
        return len(data)

    def skip(self, n: int) -> None:
        raise NotImplementedError

    def drain(self) -> None:
        """Consume the rest of the input (hashing it, for sequential inputs)."""

    def read_exact(self, n: int, what: str) -> bytes:
        data = self.read(n)
        if len(data) != n:
            raise CorruptImageError(f"truncated: unexpected end of data in {what} at byte {self.pos}")
        return data


class SeekInput(TarInput):
    """A window ``[start, start+length)`` of a seekable file, read with ``os.pread``.

    Skipping a body only moves the offset, so listing costs one small read per header.
    A read-ahead buffer does not pay: in a layer of many small files the next header is
    usually past it, and copying the unused bytes cost more CPU than the extra system calls
    (measured on 1 GB archives of 23,000-34,000 entries: 10 us per entry with one-block
    reads against 11-12 us with 4-64 KiB buffers); the kernel's own read-ahead serves cold
    files.
    """

    BUF = 512

    def __init__(self, fd: int, start: int, length: int, progress: Callable[[int], None] | None = None):
        self.fd = fd
        self.start = start
        self.length = length
        self.pos = 0
        self._buf = b""
        self._buf_pos = 0  # window offset of _buf[0]
        self._progress = progress

    def read(self, n: int) -> bytes:
        n = max(0, min(n, self.length - self.pos))
        if n == 0:
            return b""
        lo = self.pos - self._buf_pos
        if 0 <= lo and lo + n <= len(self._buf):
            data = self._buf[lo : lo + n]
        elif n >= self.BUF:
            data = os.pread(self.fd, n, self.start + self.pos)
        else:
            want = min(self.BUF, self.length - self.pos)
            self._buf = os.pread(self.fd, want, self.start + self.pos)
            self._buf_pos = self.pos
            data = self._buf[:n]
        self.pos += len(data)
        if self._progress:
            self._progress(self.pos)
        return data

    def skip(self, n: int) -> None:
        if self.pos + n > self.length:
            self.pos = self.length
            raise CorruptImageError(f"truncated: a body runs past the end of the data ({self.length} bytes)")
        self.pos += n

    def jump(self, pos: int, read_to: int) -> None:
        """Continue at ``pos`` (where the compiled loop stopped) after it read headers up to ``read_to``.

        Progress reports ``read_to``, the value :meth:`read` would have reported last.
        """
        self.pos = pos
        if self._progress:
            self._progress(read_to)


class SeqInput(TarInput):
    """A forward-only input (decompressor, socket, outer-tar member); optionally hashes every byte."""

    def __init__(self, reader: Any, hasher: Any = None, progress: Callable[[int], None] | None = None):
        self._r = reader
        self._readinto = getattr(reader, "readinto", None)
        self.hasher = hasher
        self.pos = 0
        self._scratch = bytearray(CHUNK)
        self._progress = progress
        self._next_report = 0

    def _got(self, data: bytes | memoryview) -> None:
        if self.hasher is not None:
            self.hasher.update(data)
        self.pos += len(data)
        if self._progress and self.pos >= self._next_report:
            self._next_report = self.pos + (8 << 20)
            self._progress(self.pos)

    def read(self, n: int) -> bytes:
        if n <= 0:
            return b""
        data = self._r.read(n)
        if data and len(data) < n:  # short read from a socket or a decompressor: keep reading
            parts = [data]
            got = len(data)
            while got < n:
                more = self._r.read(n - got)
                if not more:
                    break
                parts.append(more)
                got += len(more)
            data = b"".join(parts)
        self._got(data)
        return data

    def readinto(self, buf: memoryview) -> int:
        if self._readinto is None:
            return super().readinto(buf)
        try:
            n = self._readinto(buf)
        except NotImplementedError:  # an io.RawIOBase that only implements read()
            self._readinto = None
            return super().readinto(buf)
        if n:
            self._got(buf[:n])
        return n or 0

    def skip(self, n: int) -> None:
        mv = memoryview(self._scratch)
        while n > 0:
            got = self.readinto(mv[: min(n, CHUNK)])
            if not got:
                raise CorruptImageError(f"truncated: unexpected end of data at byte {self.pos}")
            n -= got

    def drain(self) -> None:
        mv = memoryview(self._scratch)
        while self.readinto(mv):
            pass


class RawReader:
    """A file-like ``read``/``readinto`` over the raw (maybe compressed) bytes of one blob.

    Bounded to ``length`` bytes when given, hashes what it hands out (the blob digest), counts it,
    and can push back a peeked prefix (magic-byte detection on non-seekable streams).
    """

    def __init__(self, reader: Any, length: int | None = None, hasher: Any = None,
                 progress: Callable[[int], None] | None = None):
        self._r = reader
        self._left = length
        self.hasher = hasher
        self.count = 0
        self._pushback = b""
        self._progress = progress
        self._next_report = 0

    def peek(self, n: int) -> bytes:
        while len(self._pushback) < n:
            more = self._raw_read(n - len(self._pushback))
            if not more:
                break
            self._pushback += more
        return self._pushback[:n]

    def _raw_read(self, n: int) -> bytes:
        if self._left is not None:
            n = min(n, self._left)
            if n <= 0:
                return b""
        data = self._r.read(n)
        if data:
            if self._left is not None:
                self._left -= len(data)
            if self.hasher is not None:
                self.hasher.update(data)
            self.count += len(data)
            if self._progress and self.count >= self._next_report:
                self._next_report = self.count + (8 << 20)
                self._progress(self.count)
        return data

    def read(self, n: int = -1) -> bytes:
        if n is None or n < 0:
            parts = [self._pushback]
            self._pushback = b""
            while chunk := self._raw_read(CHUNK):
                parts.append(chunk)
            return b"".join(parts)
        if self._pushback:
            data, self._pushback = self._pushback[:n], self._pushback[n:]
            return data
        return self._raw_read(n)

    def readinto(self, buf: Any) -> int:
        data = self.read(len(buf))
        buf[: len(data)] = data
        return len(data)

    def readable(self) -> bool:
        return True

    def drain(self) -> None:
        self._pushback = b""
        while self._raw_read(CHUNK):
            pass


class IterReader:
    """``read(n)`` over an iterator of byte chunks (the Engine API's save stream)."""

    def __init__(self, chunks: Iterator[bytes]):
        self._it = chunks
        self._buf = b""
        self._off = 0

    def read(self, n: int = -1) -> bytes:
        while len(self._buf) - self._off <= 0:
            try:
                self._buf = next(self._it)
            except StopIteration:
                return b""
            self._off = 0
        end = len(self._buf) if n is None or n < 0 else self._off + n
        data = self._buf[self._off : end]
        self._off += len(data)
        return data


# ------------------------------------------------------------------------------- header parsing


@dataclass(slots=True)
class TarHeader:
    """One member as the archive describes it (after PAX/GNU long-name records are applied)."""

    name: str
    linkname: str
    typeflag: str
    size: int  # body bytes in the archive (0 for header-only types)
    mode: int
    uid: int
    gid: int
    mtime: int
    offset: int  # position of the body in the input
    realsize: int  # file size (differs from size only for sparse files)
    sparse: bool = False


HEADER_ONLY = frozenset("123456")
# name mode uid gid size mtime chksum typeflag linkname magic+version uname gname devmajor devminor prefix
_HEADER = struct.Struct("100s8s8s8s12s12s8s1s100s8s32s32s8s8s155s")
REGULAR = frozenset(("0", "\0", "7"))


def _num(field: bytes, what: str) -> int:
    if field and field[0] & 0x80:  # GNU base-256
        value = int.from_bytes(field, "big")
        if field[0] == 0xFF:  # negative
            value -= 1 << (8 * len(field))
        else:
            value &= (1 << (8 * len(field) - 1)) - 1
        return value
    try:
        return int(field.rstrip(b"\0 ") or b"0", 8)  # the common case: "0000644\0"
    except ValueError:
        pass
    text = field.split(b"\0", 1)[0].strip(b" ")
    if not text:
        return 0
    try:
        return int(text, 8)
    except ValueError:
        raise CorruptImageError(f"bad tar header: {what} field {field!r} is not a number") from None


_adler32 = zlib.adler32


def _checksum_ok(block: bytes) -> bool:
    stored = _num(block[148:156], "checksum")
    # Byte sum at C speed: Adler-32's low half is 1 + sum(bytes) mod 65521, exact for 256 bytes.
    mv = memoryview(block)
    unsigned = (_adler32(mv[:256]) & 0xFFFF) + (_adler32(mv[256:]) & 0xFFFF) - 2 - sum(block[148:156]) + 8 * 32
    if stored == unsigned:
        return True
    signed = unsigned - 256 * sum(1 for b in block if b >= 128) + 256 * sum(1 for b in block[148:156] if b >= 128)
    return stored == signed


def _str(raw: bytes) -> str:
    end = raw.find(b"\0")
    if end >= 0:
        raw = raw[:end]
    return raw.decode("utf-8", "surrogateescape")


def parse_pax(data: bytes) -> dict[str, str]:
    """Parse PAX extended-header records (``"%d %s=%s\\n"``)."""
    out: dict[str, str] = {}
    pos = 0
    n = len(data)
    while pos < n:
        if data[pos] == 0:  # some writers pad with NULs
            break
        sp = data.find(b" ", pos)
        if sp < 0:
            raise CorruptImageError("bad PAX header: record without a length")
        try:
            length = int(data[pos:sp])
        except ValueError:
            raise CorruptImageError(f"bad PAX header: record length {data[pos:sp]!r}") from None
        end = pos + length
        if length <= 0 or end > n or data[end - 1 : end] != b"\n":
            raise CorruptImageError("bad PAX header: record length does not match")
        key, eq, value = data[sp + 1 : end - 1].partition(b"=")
        if not eq:
            raise CorruptImageError("bad PAX header: record without '='")
        out[key.decode("utf-8", "surrogateescape")] = value.decode("utf-8", "surrogateescape")
        pos = end
    return out


def _pax_int(pax: dict[str, str], key: str, default: int) -> int:
    value = pax.get(key)
    if value is None:
        return default
    try:
        return int(float(value)) if "." in value else int(value)
    except ValueError:
        raise CorruptImageError(f"bad PAX header: {key}={value!r}") from None


def compiled_scan_available() -> bool:
    """True when the compiled header loop is built and not switched off by the environment."""
    return _tarscan is not None and os.environ.get(PURE_PYTHON_ENV, "") in ("", "0")


def iter_headers(inp: TarInput) -> Iterator[TarHeader]:
    """Yield the members of the tar in ``inp``; bodies the consumer leaves unread are skipped.

    The consumer may read (part of) a member's body from ``inp`` before asking for the next one.
    Stops at the first all-zero block (end of archive) or at a clean end of input after a
    complete member; anything else (short header, short body, bad checksum) raises
    :class:`CorruptImageError`.

    On a :class:`SeekInput`, runs of plain headers are read by the compiled loop (when built);
    this function parses every header it stops at, so results and errors are the same.
    """
    long_name: str | None = None
    long_link: str | None = None
    pax: dict[str, str] = {}
    global_pax: dict[str, str] = {}
    read = inp.read
    unpack = _HEADER.unpack_from
    adler = _adler32
    # Exact type: a subclass may read differently from the plain pread the C loop does.
    seek_inp = inp if type(inp) is SeekInput and compiled_scan_available() else None
    compiled = _tarscan.scan if seek_inp is not None else None  # type: ignore[union-attr]
    backoff = 0  # Python-parsed headers left before the compiled loop is tried again
    fruitless = 0  # consecutive compiled calls that took nothing (e.g. a PAX header on every member)
    while True:
        # Only without pending extended-header state: the compiled loop applies none.
        if compiled is not None and long_name is None and long_link is None and not pax and not global_pax:
            if backoff:
                backoff -= 1
            else:
                batch, stop, reason = compiled(seek_inp.fd, seek_inp.start, seek_inp.length, inp.pos, COMPILED_BATCH)
                for fields in batch:
                    offset = fields[8]
                    inp.pos = offset  # so the consumer can read the body, as below
                    yield TarHeader(*fields)
                    if not offset <= inp.pos <= offset + fields[3]:
                        raise CorruptImageError("internal: consumer read past a member body")
                if batch:
                    seek_inp.jump(stop, batch[-1][8])
                    fruitless = 0
                    if reason == "limit":
                        continue
                else:
                    fruitless += 1
                    backoff = min(1 << fruitless, COMPILED_MAX_BACKOFF)
                # Python parses the header the compiled loop stopped at (end, error or a kind it leaves to us).
        block = read(BLOCK)
        if len(block) != BLOCK:
            if not block:
                if long_name is not None or long_link is not None or pax:
                    raise CorruptImageError("truncated: archive ends after an extended header")
                return  # no end-of-archive marker; tolerated (the DiffID check catches real loss)
            raise CorruptImageError(f"truncated: partial tar header at byte {inp.pos - len(block)}")
        if block == ZERO_BLOCK:
            return
        (f_name, f_mode, f_uid, f_gid, f_size, f_mtime, f_chk, f_type, f_link, f_magic, _, _, _, _,
         f_prefix) = unpack(block)
        # Checksum: the byte sum at C speed (Adler-32's low half is 1 + sum mod 65521, exact for
        # 256 bytes), with the checksum field counted as spaces.
        mv = memoryview(block)
        unsigned = (adler(mv[:256]) & 0xFFFF) + (adler(mv[256:]) & 0xFFFF) - 2 - sum(f_chk) + 256
        if _num(f_chk, "checksum") != unsigned and not _checksum_ok(block):
            raise CorruptImageError(f"bad tar header checksum at byte {inp.pos - BLOCK}")
        try:  # the common case: "0000644\0"-style octal fields
            size = int(f_size[:-1], 8)
            mode = int(f_mode[:-1], 8)
            uid = int(f_uid[:-1], 8)
            gid = int(f_gid[:-1], 8)
            mtime = int(f_mtime[:-1], 8)
        except ValueError:
            size = _num(f_size, "size")
            mode = _num(f_mode, "mode")
            uid = _num(f_uid, "uid")
            gid = _num(f_gid, "gid")
            mtime = _num(f_mtime, "mtime")
        typeflag = chr(block[156])
        if size < 0:
            raise CorruptImageError(f"bad tar header: negative size at byte {inp.pos - BLOCK}")

        if typeflag in ("L", "K", "x", "g"):
            if size > MAX_META_BYTES:
                raise CorruptImageError(f"extended header of {size} bytes is larger than the {MAX_META_BYTES} allowed")
            body = inp.read_exact(size, "an extended header")
            inp.skip(-size % BLOCK)
            if typeflag == "L":
                long_name = _str(body)
            elif typeflag == "K":
                long_link = _str(body)
            elif typeflag == "x":
                pax.update(parse_pax(body))
            else:
                global_pax.update(parse_pax(body))
            continue

        name = f_name.partition(b"\0")[0].decode("utf-8", "surrogateescape")
        if f_prefix[0] and f_magic[:6] == b"ustar\0":  # POSIX ustar: prefix field
            name = _str(f_prefix) + "/" + name
        linkname = _str(f_link) if f_link[0] else ""
        realsize = size
        sparse = False

        if typeflag == "S":  # old GNU sparse: maybe more sparse-map blocks follow
            sparse = True
            realsize = _num(block[483:495], "realsize")
            extended = block[482]
            while extended:
                ext = inp.read_exact(BLOCK, "a sparse header")
                extended = ext[504]

        merged = {**global_pax, **pax} if global_pax else pax
        if merged:
            if "path" in merged:
                name = merged["path"]
            if "linkpath" in merged:
                linkname = merged["linkpath"]
            size = _pax_int(merged, "size", size)
            realsize = size if not sparse else realsize
            uid = _pax_int(merged, "uid", uid)
            gid = _pax_int(merged, "gid", gid)
            mtime = _pax_int(merged, "mtime", mtime)
            if "GNU.sparse.name" in merged:  # GNU sparse 0.1 / 1.0
                name = merged["GNU.sparse.name"]
                sparse = True
            if "GNU.sparse.realsize" in merged or "GNU.sparse.size" in merged:
                sparse = True
                realsize = _pax_int(merged, "GNU.sparse.realsize", _pax_int(merged, "GNU.sparse.size", size))
        if long_name is not None:
            name = long_name
        if long_link is not None:
            linkname = long_link
        long_name = long_link = None
        pax = {}

        if typeflag in HEADER_ONLY:
            size = 0
            realsize = 0
        offset = inp.pos
        yield TarHeader(name, linkname, typeflag, size, mode & 0o7777, uid, gid, mtime, offset, realsize, sparse)
        consumed = inp.pos - offset
        if consumed < 0 or consumed > size:
            raise CorruptImageError("internal: consumer read past a member body")
        inp.skip(size - consumed + (-size % BLOCK))


# -------------------------------------------------------------------------------- layer entries


class Warnings:
    """Collects warnings, at most WARN_LIMIT per kind; the rest are counted and summarised."""

    def __init__(self, prefix: str = "") -> None:
        self.prefix = prefix
        self.messages: list[str] = []
        self._counts: dict[str, int] = {}

    def add(self, kind: str, message: str) -> None:
        count = self._counts.get(kind, 0) + 1
        self._counts[kind] = count
        if count <= WARN_LIMIT:
            self.messages.append(self.prefix + message)

    def finish(self) -> list[str]:
        out = list(self.messages)
        for kind, count in self._counts.items():
            if count > WARN_LIMIT:
                out.append(f"{self.prefix}{count - WARN_LIMIT} more {kind} warnings not shown")
        return out


def normalize_path(name: str) -> str | None:
    """Clean a tar member name to ``a/b/c``; ``None`` when ``..`` climbs out of the root.

    Leading ``/`` and ``./`` are dropped, ``.`` and empty components removed, ``x/..`` folded
    (as Go's ``filepath.Clean``, which Docker applies before extracting).
    """
    if name and name[0] not in "./" and name[-1] != "/" and "//" not in name and "/." not in name:
        return name  # already clean (the common case)
    parts: list[str] = []
    for comp in name.split("/"):
        if comp == "" or comp == ".":
            continue
        if comp == "..":
            if not parts:
                return None
            parts.pop()
            continue
        parts.append(comp)
    return "/".join(parts)


_TYPES = {
    "1": EntryType.HARDLINK,
    "2": EntryType.SYMLINK,
    "3": EntryType.CHAR,
    "4": EntryType.BLOCK,
    "5": EntryType.DIR,
    "6": EntryType.FIFO,
    "D": EntryType.DIR,  # GNU dump directory
}

WHITEOUT_PREFIX = ".wh."
OPAQUE_NAME = ".wh..wh..opq"


@dataclass(slots=True)
class LayerScan:
    """What reading one layer blob produced."""

    entries: list[Entry]
    tar_size: int  # uncompressed bytes
    raw_size: int  # bytes as stored
    compression: str  # "none", "gzip", "zstd"
    diff_id: str | None  # sha256 of the uncompressed stream, when it was read in full
    digest: str | None  # sha256 of the stored bytes, when they were read in full
    warnings: list[str] = field(default_factory=list)
    contents: dict[str, bytes] = field(default_factory=dict)  # read_files found in this layer


class EntryBudget:
    """Counts entries across the layers of one image against :data:`MAX_ENTRIES`."""

    def __init__(self, limit: int | None = None) -> None:
        self.limit = MAX_ENTRIES if limit is None else limit
        self.used = 0

    def take(self, n: int = 1) -> None:
        self.used += n
        if self.used > self.limit:
            raise TooManyEntriesError(
                f"more than {self.limit} tar entries in the image; raise decruft.image.tarstream.MAX_ENTRIES to read it"
            )


def read_entries(inp: TarInput, *, hash_contents: bool = False, warn: Warnings | None = None,
                 budget: EntryBudget | None = None, read_files: frozenset[str] | None = None,
                 contents: dict[str, bytes] | None = None) -> list[Entry]:
    """Turn the headers of one layer tar into normalised :class:`Entry` records.

    Regular files whose path is in ``read_files`` (and no larger than :data:`MAX_READ_FILE`)
    have their bytes stored in ``contents``.
    """
    warn = warn or Warnings()
    budget = budget or EntryBudget()
    entries: list[Entry] = []
    append = entries.append
    scratch = memoryview(bytearray(CHUNK)) if hash_contents else None
    pending = 0  # entries not yet charged to the budget (charged in batches)
    for h in iter_headers(inp):
        raw_name = h.name
        path = normalize_path(raw_name)
        if path is None:
            warn.add("path-escape", f"skipped {raw_name!r}: the path climbs out of the root with '..'")
            continue
        if path == "":
            continue  # the root directory itself ("./" or "/")
        if raw_name.startswith("/"):
            warn.add("absolute-path", f"absolute path {raw_name!r} read as {path!r}")
        typeflag = h.typeflag
        digest = None
        linkname: str | None = None
        base = path.rpartition("/")[2] if ".wh." in path else ""
        if base.startswith(WHITEOUT_PREFIX):
            parent = posixpath.dirname(path)
            if base == OPAQUE_NAME:
                etype = EntryType.OPAQUE
                path = parent
            elif base.startswith(".wh..wh."):
                warn.add("aufs-meta", f"skipped AUFS metadata {raw_name!r}")
                continue
            else:
                target = base[len(WHITEOUT_PREFIX):]
                if target in ("", ".", ".."):
                    warn.add("bad-whiteout", f"skipped whiteout {raw_name!r} that names no file")
                    continue
                etype = EntryType.WHITEOUT
                path = f"{parent}/{target}" if parent else target
            size = 0
        elif typeflag in REGULAR or typeflag == "S":
            etype = EntryType.FILE
            size = h.realsize
            if read_files and path in read_files and not h.sparse and h.size <= MAX_READ_FILE:
                body = inp.read_exact(h.size, f"the body of {path}")
                if contents is not None:
                    contents[path] = body
                if hash_contents:
                    digest = "sha256:" + hashlib.sha256(body).hexdigest()
            elif hash_contents and not h.sparse:
                digest = _hash_body(inp, h.size, scratch)  # type: ignore[arg-type]
        elif typeflag in _TYPES:
            etype = _TYPES[typeflag]
            size = 0
            if etype is EntryType.HARDLINK:
                target = normalize_path(h.linkname)
                if not target:
                    warn.add("link-escape", f"skipped hard link {raw_name!r} -> {h.linkname!r}: the target is outside the tree")
                    continue
                linkname = target
            elif etype is EntryType.SYMLINK:
                linkname = h.linkname
                if ".." in linkname and not linkname.startswith("/"):
                    if normalize_path(posixpath.join(posixpath.dirname(path), linkname)) is None:
                        warn.add("link-escape", f"symlink {path!r} -> {h.linkname!r} points outside the tree")
        else:
            warn.add("unknown-type", f"skipped {raw_name!r} of unknown tar type {typeflag!r}")
            continue
        pending += 1
        if pending == 4096:
            budget.take(pending)
            pending = 0
        append(Entry(path, etype, size, h.mode, h.uid, h.gid, h.mtime, linkname, digest))
    budget.take(pending)
    return entries


def _hash_body(inp: TarInput, size: int, scratch: memoryview) -> str:
    hasher = hashlib.sha256()
    left = size
    while left > 0:
        got = inp.readinto(scratch[: min(left, CHUNK)])
        if not got:
            raise CorruptImageError(f"truncated: file body ends early at byte {inp.pos}")
        hasher.update(scratch[:got])
        left -= got
    return "sha256:" + hasher.hexdigest()


# -------------------------------------------------------------------------------- layer readers


def decompressing_reader(reader: Any) -> tuple[str, Any]:
    """``(compression, reader of the uncompressed bytes)`` for a forward-only reader."""
    raw = RawReader(reader)
    kind = detect_compression(raw.peek(4))
    return kind, (raw if kind == "none" else _decompressor(kind, raw))


def _decompressor(kind: str, raw: RawReader) -> Any:
    if kind == "gzip":
        from isal import igzip

        return igzip.IGzipFile(fileobj=raw, mode="rb")  # type: ignore[arg-type]
    import zstandard

    return zstandard.ZstdDecompressor().stream_reader(raw, read_size=CHUNK, read_across_frames=True, closefd=False)


def _wrap_decompress_errors(kind: str, exc: BaseException) -> CorruptImageError:
    return CorruptImageError(f"corrupt {kind} data: {exc}")


def scan_stream(reader: Any, *, length: int | None = None, hash_contents: bool = False,
                warn: Warnings | None = None, budget: EntryBudget | None = None,
                progress: Callable[[int], None] | None = None, verify: bool = True,
                read_files: frozenset[str] | None = None) -> LayerScan:
    """Read one layer blob from a forward-only reader: entries, sizes, DiffID and blob digest.

    Every byte is read (there is no seeking in a stream); with ``verify`` the uncompressed
    stream is hashed (the DiffID) and so are the stored bytes (the blob digest), in background
    threads.  Without it nothing is hashed and both come back as None.
    """
    warn = warn or Warnings()
    raw = RawReader(reader, length, None, progress)
    kind = detect_compression(raw.peek(4))
    diff_hasher = new_hasher() if verify else None
    raw_hasher = None
    if kind != "none" and verify:
        raw_hasher = new_hasher()
        raw.hasher = raw_hasher
        raw.hasher.update(raw.peek(4))  # the peeked bytes were read before the hasher was set
    contents: dict[str, bytes] = {}
    try:
        if kind == "none":
            inp = SeqInput(raw, diff_hasher)
            entries = _read_or_wrap(inp, kind, hash_contents, warn, budget, read_files, contents)
            inp.drain()
            raw.drain()
            digest = "sha256:" + diff_hasher.hexdigest() if diff_hasher is not None else None
            return LayerScan(entries, inp.pos, inp.pos, kind, digest, digest, warn.finish(), contents)
        dec = _decompressor(kind, raw)
        inp = SeqInput(dec, diff_hasher)
        entries = _read_or_wrap(inp, kind, hash_contents, warn, budget, read_files, contents)
        try:
            inp.drain()
        except (OSError, EOFError, ValueError) as exc:  # isal raises IsalError (an OSError subclass)
            raise _wrap_decompress_errors(kind, exc) from exc
        except Exception as exc:  # zstandard.ZstdError
            if type(exc).__name__ == "ZstdError":
                raise _wrap_decompress_errors(kind, exc) from exc
            raise
        raw.drain()  # anything after the compressed stream still belongs to the blob
        return LayerScan(entries, inp.pos, raw.count, kind,
                         "sha256:" + diff_hasher.hexdigest() if diff_hasher is not None else None,
                         "sha256:" + raw_hasher.hexdigest() if raw_hasher is not None else None, warn.finish(),
                         contents)
    finally:
        for h in (diff_hasher, raw_hasher):
            if isinstance(h, BackgroundHasher):
                h.close()


def _read_or_wrap(inp: TarInput, kind: str, hash_contents: bool, warn: Warnings, budget: EntryBudget | None,
                  read_files: frozenset[str] | None, contents: dict[str, bytes]) -> list[Entry]:
    try:
        return read_entries(inp, hash_contents=hash_contents, warn=warn, budget=budget, read_files=read_files,
                            contents=contents)
    except ImageError:
        raise
    except (OSError, EOFError, ValueError) as exc:
        raise _wrap_decompress_errors(kind, exc) from exc
    except Exception as exc:
        if type(exc).__name__ == "ZstdError":
            raise _wrap_decompress_errors(kind, exc) from exc
        raise


def scan_file_window(fd: int, start: int, length: int, *, hash_contents: bool = False,
                     warn: Warnings | None = None, budget: EntryBudget | None = None,
                     progress: Callable[[int], None] | None = None, verify: bool = True,
                     read_files: frozenset[str] | None = None) -> LayerScan:
    """Read one layer blob stored at ``[start, start+length)`` of a seekable file.

    An uncompressed layer is listed in place, seeking over file bodies (no DiffID: the bytes are
    not read).  A compressed one is decompressed as a stream (DiffID and digest computed).  With
    ``hash_contents`` the bodies are read anyway, so the DiffID is computed too.
    """
    warn = warn or Warnings()
    head = os.pread(fd, 4, start) if length >= 4 else os.pread(fd, length, start)
    kind = detect_compression(head)
    if kind == "none" and not hash_contents:
        inp = SeekInput(fd, start, length, progress)
        contents: dict[str, bytes] = {}
        entries = read_entries(inp, warn=warn, budget=budget, read_files=read_files, contents=contents)
        return LayerScan(entries, length, length, kind, None, None, warn.finish(), contents)
    return scan_stream(_FdWindow(fd, start, length), length=length, hash_contents=hash_contents,
                       warn=warn, budget=budget, progress=progress, verify=verify, read_files=read_files)


class _FdWindow(io.RawIOBase):
    """A forward reader over ``[start, start+length)`` of a file descriptor (pread, no shared offset)."""

    def __init__(self, fd: int, start: int, length: int):
        super().__init__()
        self.fd = fd
        self.off = start
        self.end = start + length

    def readable(self) -> bool:
        return True

    def readinto(self, buf: Any) -> int:
        n = min(len(buf), self.end - self.off)
        if n <= 0:
            return 0
        data = os.pread(self.fd, n, self.off)
        buf[: len(data)] = data
        self.off += len(data)
        return len(data)

    def read(self, n: int = -1) -> bytes:
        if n is None or n < 0:
            n = self.end - self.off
        n = min(n, self.end - self.off)
        if n <= 0:
            return b""
        data = os.pread(self.fd, n, self.off)
        self.off += len(data)
        return data


def open_binary(path: str | os.PathLike[str]) -> BinaryIO:
    return open(path, "rb")  # noqa: SIM115 - caller closes
