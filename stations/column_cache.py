"""A registry's first snapshot from a file of its columns, so that a server starts in seconds, not minutes.

Building a snapshot reads and parses every station's stored JSON (``stations.columns.read``: ~15–30 µs a row, so
15–30 s at 1M stations, and each worker of ``yizhan serve --workers N`` builds its own). ``ColumnCache`` keeps the
columns of the latest snapshot built (``StationColumns``: numpy arrays, distinct texts, JSON buffers) in one file
per database, read back in about a second, and builds it once for all the workers that start together: the first
takes an exclusive lock (``fcntl.flock`` on a lock file beside the cache), builds and writes it; the others wait
for the lock and then read what it wrote.

A cache is used only for the database, schema and code that wrote it (its ``key``: the database's URL or SQLite
file, its migration revision, a digest of the code that shapes columns) and only when the store agrees with it:
the cache's stamp is a write stamp the store holds, the store's version is not older than the cache's, and the
columns hold as many stations as the store. At the store's version it is the snapshot; at an older one it is
advanced by the changes since its stamp (``stations.refresh.advance``: the delta a running server applies) and
written again. Anything else — no file, another key, a truncated or damaged file (each section carries a CRC-32),
a store that went back — is logged on one line and the snapshot built from the store: never a crash, never other
data than the store's.

The file: ``MAGIC``, the header's length (8 bytes, little-endian), the header (JSON: key, version, stamp, the
distinct texts, and each array's and JSON buffer's dtype, shape, offset, length and CRC-32), then the sections,
each at a multiple of 64 bytes. No pickle: arrays are plain numbers or bytes read with ``np.fromfile``. Written
to a temporary name beside it and renamed (``os.replace``), so a reader sees a whole file or none.

Arrays are read into memory, not memory-mapped: a mapped file replaced or cut while a worker serves would end it
with SIGBUS, and the columns are read whole anyway (the index is built over every position).
"""

from __future__ import annotations

import fcntl
import hashlib
import json
import logging
import os
import time
import zlib
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass, fields
from datetime import UTC, datetime
from pathlib import Path
from typing import IO, Any

import numpy as np
from sqlalchemy import exists, make_url, select, text
from sqlalchemy.orm import Session

from stations import columns as columns_module
from stations import model
from stations.columns import CODED, StationColumns
from stations.model import OPERATING_STATUSES
from stations.refresh import advance, build
from stations.snapshot import Snapshot
from stations.store import HistoryRow, StationRow, Store

LOGGER = logging.getLogger("yizhan.column_cache")
MAGIC = b"YIZHAN-COLUMNS\n\x00"
FORMAT = 2
"""Bump when the file's layout changes (a digest of the code shaping the columns is in the key as well)."""
ALIGN = 64
MIN_STATIONS = 100_000
"""Registries smaller than this are built from the store each time (under ~2 s) and never cached."""
FOLDER_NAME = ".yizhan-snapshot-cache"
"""The default cache folder of a SQLite database, beside its file."""
_EMPTY = StationColumns.from_payloads([])  # the dtype of every array, for checking what a file holds


class CacheUnusable(Exception):
    """A cache file that cannot be used: missing, damaged, or written for another database, schema or code."""


@dataclass(frozen=True, slots=True)
class Cached:
    """What a cache file holds: the columns of a snapshot, its registry version and stamp."""

    columns: StationColumns
    version: int
    stamp: datetime


def code_digest() -> str:
    """A digest of the code that decides what columns hold (``stations/columns.py``, ``stations/model.py``):
    a cache written by other code is not read.

    >>> len(code_digest())
    16
    """
    digest = hashlib.sha256(f"format {FORMAT}".encode())
    for module in (columns_module, model):
        digest.update(Path(str(module.__file__)).read_bytes())
    return digest.hexdigest()[:16]


def store_identity(url: str) -> str:
    """The database ``url`` names, as the cache's key holds it: a SQLite file by its absolute path, any other
    database by its URL without the password.

    >>> store_identity("postgresql://yizhan:secret@db/yizhan")
    'postgresql://yizhan:***@db/yizhan'
    """
    parsed = make_url(url)
    if parsed.get_backend_name() == "sqlite" and parsed.database and parsed.database != ":memory:":
        return f"sqlite:{Path(parsed.database).resolve()}"
    return parsed.render_as_string(hide_password=True)


def default_folder(url: str) -> Path | None:
    """Where a database's cache lives unless ``YIZHAN_SNAPSHOT_CACHE_DIR`` says: for a SQLite file, the folder
    ``FOLDER_NAME`` beside it; for another database, ``$XDG_CACHE_HOME/yizhan/snapshots`` (by default
    ``~/.cache/yizhan/snapshots``); None for an in-memory SQLite database (nothing outlives the process).

    >>> default_folder("sqlite:////srv/yizhan/registry.sqlite3")
    PosixPath('/srv/yizhan/.yizhan-snapshot-cache')
    >>> default_folder("sqlite://") is None
    True
    """
    parsed = make_url(url)
    if parsed.get_backend_name() == "sqlite":
        if not parsed.database or parsed.database == ":memory:":
            return None
        return Path(parsed.database).resolve().parent / FOLDER_NAME
    base = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(base) / "yizhan" / "snapshots"


def schema_revision(store: Store) -> str:
    """The store's migration revision (alembic's), part of the cache's key."""
    with store.engine.connect() as connection:
        return str(connection.execute(text("SELECT version_num FROM alembic_version")).scalar())


def key_of(store: Store) -> dict[str, str]:
    """What a cache file must have been written for to be read for ``store``."""
    return {"store": store_identity(store.url), "schema": schema_revision(store), "code": code_digest()}


def file_name(store: Store) -> str:
    """The cache file's name for ``store`` (its folder may hold several databases' caches)."""
    identity = store_identity(store.url)
    stem = Path(make_url(store.url).database or "registry").name if identity.startswith("sqlite:") else "registry"
    return f"{stem}.{hashlib.sha256(identity.encode()).hexdigest()[:12]}.columns"


# --------------------------------------------------------------------------- the file


def _aligned(position: int) -> int:
    return -(-position // ALIGN) * ALIGN


def _crc(buffer: Any) -> int:
    return zlib.crc32(memoryview(buffer).cast("B"))


def save(path: Path, columns: StationColumns, version: int, stamp: datetime, key: dict[str, str]) -> None:
    """Write ``columns`` of the snapshot at ``version`` and ``stamp`` to ``path`` for ``key``: to a temporary name
    beside it, then renamed over it (readers see the old file or the new one, whole)."""
    arrays = {
        f.name: np.ascontiguousarray(value)
        for f in fields(StationColumns)
        if isinstance(value := getattr(columns, f.name), np.ndarray)
    }  # the JSON buffers and the texts are not arrays: never copied into one
    texts = {name: list(getattr(columns, f"{name}_texts")) for name in CODED}
    sections: list[tuple[dict[str, Any], Any]] = []
    for name, array in arrays.items():
        sections.append(({"name": name, "dtype": array.dtype.str, "shape": list(array.shape)}, array))
    sections += [({"name": "payloads"}, buffer) for buffer in columns.payloads]
    position = 0
    for entry, buffer in sections:
        size = memoryview(buffer).nbytes
        entry.update(offset=position, nbytes=size, crc=_crc(buffer))
        position = _aligned(position + size)
    header = {
        "format": FORMAT,
        "key": key,
        "version": version,
        "stamp": stamp.isoformat(),
        "count": len(columns),
        "texts": texts,
        "sections": [entry for entry, _ in sections],
    }
    header_text = json.dumps(header, ensure_ascii=True).encode()  # lone surrogates as \ud800 escapes
    start = _aligned(len(MAGIC) + 8 + len(header_text) + 4)
    temporary = path.with_name(f"{path.name}.{os.getpid()}.tmp")
    try:
        with open(temporary, "wb") as out:
            out.write(MAGIC + len(header_text).to_bytes(8, "little") + header_text)
            out.write(zlib.crc32(header_text).to_bytes(4, "little"))
            for entry, buffer in sections:
                out.seek(start + entry["offset"])
                out.write(memoryview(buffer).cast("B"))
            out.truncate(start + position)
        os.replace(temporary, path)
    finally:
        temporary.unlink(missing_ok=True)


def load(path: Path, key: dict[str, str]) -> Cached:
    """The columns, version and stamp written to ``path`` for ``key``; ``CacheUnusable`` (saying why) if there is
    no such file, it was written for another key, or any part of it is cut short, damaged or inconsistent."""
    try:
        with open(path, "rb") as source:
            return _read(source, os.fstat(source.fileno()).st_size, key)
    except FileNotFoundError:
        raise CacheUnusable("no cache file yet") from None
    except CacheUnusable:
        raise
    except (OSError, ValueError, TypeError, KeyError, IndexError, OverflowError, AttributeError) as error:
        raise CacheUnusable(f"unreadable: {type(error).__name__}: {error}") from None


def _read(source: IO[bytes], size: int, key: dict[str, str]) -> Cached:
    lead = source.read(len(MAGIC) + 8)
    if lead[: len(MAGIC)] != MAGIC or len(lead) < len(MAGIC) + 8:
        raise CacheUnusable("not a column cache file")
    header_size = int.from_bytes(lead[len(MAGIC) :], "little")
    if header_size > size:
        raise CacheUnusable("cut short (header)")
    header_text = source.read(header_size)
    crc = source.read(4)
    if len(crc) < 4 or zlib.crc32(header_text) != int.from_bytes(crc, "little"):
        raise CacheUnusable("damaged header")
    header = json.loads(header_text)
    if header["format"] != FORMAT or header["key"] != key:
        raise CacheUnusable("written for another database, schema or version of the code")
    start = _aligned(len(MAGIC) + 8 + header_size + 4)
    arrays: dict[str, Any] = {}
    payloads: list[bytes] = []
    for entry in header["sections"]:
        offset, nbytes = start + int(entry["offset"]), int(entry["nbytes"])
        if offset + nbytes > size:
            raise CacheUnusable(f"cut short ({entry['name']})")
        source.seek(offset)
        if entry["name"] == "payloads":
            buffer = source.read(nbytes)
            if len(buffer) != nbytes or _crc(buffer) != entry["crc"]:
                raise CacheUnusable("damaged JSON buffer")
            payloads.append(buffer)
            continue
        name = entry["name"]
        expected = getattr(_EMPTY, name).dtype  # AttributeError: not a column (unreadable)
        dtype = np.dtype(entry["dtype"])
        if dtype != expected and not (name == "ids" and dtype.kind == "S"):
            raise CacheUnusable(f"{name} of dtype {dtype}, not {expected}")
        count = int(np.prod(entry["shape"]))
        if count * dtype.itemsize != nbytes:
            raise CacheUnusable(f"{name}: {nbytes} bytes for shape {entry['shape']}")
        array = np.fromfile(source, dtype=dtype, count=count).reshape(entry["shape"])
        if array.size != count or _crc(array) != entry["crc"]:
            raise CacheUnusable(f"damaged column {name}")
        arrays[name] = array
    texts: dict[str, Any] = {f"{name}_texts": tuple(str(t) for t in header["texts"][name]) for name in CODED}
    columns = StationColumns(payloads=tuple(payloads), **arrays, **texts)
    _check(columns, int(header["count"]))
    return Cached(columns, int(header["version"]), datetime.fromisoformat(header["stamp"]))


def _check(columns: StationColumns, count: int) -> None:
    """``CacheUnusable`` unless every column has ``count`` rows, ids are sorted and distinct, and every code and
    JSON slice points inside what it indexes (cheap, vectorised: a damaged file cannot give wrong stations)."""
    for f in fields(StationColumns):
        value = getattr(columns, f.name)
        if isinstance(value, np.ndarray) and value.shape != (count,):
            raise CacheUnusable(f"{f.name} holds {value.shape} values for {count} stations")
    if count and not bool(np.all(columns.ids[1:] > columns.ids[:-1])):
        raise CacheUnusable("ids out of order")
    for name in CODED:
        codes = getattr(columns, f"{name}_code")
        if count and (codes.min() < -1 or codes.max() >= len(getattr(columns, f"{name}_texts"))):
            raise CacheUnusable(f"{name} codes out of range")
    if count and (columns.status.min() < 0 or columns.status.max() >= len(OPERATING_STATUSES)):
        raise CacheUnusable("operating status out of range")
    if count:
        lengths = np.array([len(p) for p in columns.payloads], dtype=np.int64)
        if columns.segment.min() < 0 or columns.segment.max() >= lengths.size:
            raise CacheUnusable("JSON buffer out of range")
        if np.any(columns.start < 0) or np.any(columns.end < columns.start):
            raise CacheUnusable("JSON slice out of order")
        if np.any(columns.end > lengths[columns.segment]):
            raise CacheUnusable("JSON slice out of its buffer")


# --------------------------------------------------------------------------- the store's side


def stamp_held(store: Store, stamp: datetime) -> bool:
    """Whether ``stamp`` is a write stamp ``store`` holds (a station row's or a history entry's): a cache's stamp
    is one, unless the database is another one at the same address, or went back (restored from a backup)."""
    at = stamp.astimezone(UTC)  # SQLite compares the stored UTC digits as text
    rows = select(exists().where(StationRow.updated_at == at))
    entries = select(exists().where(HistoryRow.at == at))
    with Session(store.engine) as session:
        return bool(session.scalar(rows)) or bool(session.scalar(entries))


@contextmanager
def _locked(path: Path, exclusive: bool) -> Iterator[None]:
    """``path`` (the lock file, made if missing) locked for the block: shared or exclusive, waiting for it."""
    with open(path, "a+b") as lock:
        fcntl.flock(lock.fileno(), fcntl.LOCK_EX if exclusive else fcntl.LOCK_SH)
        try:
            yield
        finally:
            fcntl.flock(lock.fileno(), fcntl.LOCK_UN)


@dataclass(frozen=True, slots=True)
class ColumnCache:
    """First snapshots of registries read from and written to ``folder`` (``first_snapshot``); registries of
    fewer than ``min_stations`` stations are built from the store and not cached."""

    folder: Path
    min_stations: int = MIN_STATIONS

    @classmethod
    def for_database(cls, url: str, folder: str | None, min_stations: int = MIN_STATIONS) -> ColumnCache | None:
        """The cache of the database at ``url`` as the settings give it: ``folder`` "off" for none, empty or
        None for ``default_folder(url)``, else that folder."""
        if folder is not None and folder.strip().lower() == "off":
            return None
        where = Path(folder).expanduser() if folder else default_folder(url)
        return None if where is None else cls(where, min_stations)

    def first_snapshot(self, store: Store, version: int) -> Snapshot:
        """The snapshot of ``store`` as of its version now (``version``: read before this is called): from the
        cache file when it agrees with the store, advanced by the changes since it when older; otherwise built from
        the store and the cache written, by one process of those starting together (the others wait, then read)."""
        if store.count() < self.min_stations:
            return build(store, version)
        key = key_of(store)
        path = self.folder / file_name(store)
        lock = path.with_name(path.name + ".lock")
        with ExitStack() as held:
            try:
                self.folder.mkdir(parents=True, exist_ok=True)
                with _locked(lock, exclusive=False):  # another process may be writing it: wait, then read it
                    found = self._usable(store, path, key)
                if found is not None and found.version == store.version():
                    return found
                held.enter_context(_locked(lock, exclusive=True))
            except OSError as error:  # an unwritable folder: serve without the cache
                LOGGER.warning("snapshot cache in %s not usable (%s); built from the store", self.folder, error)
                return build(store, version)
            return self._build_or_advance(store, path, key, version)
        raise AssertionError("unreachable")

    def _usable(self, store: Store, path: Path, key: dict[str, str], log: bool = True) -> Snapshot | None:
        """The cache's snapshot if it agrees with the store (at the store's version now or older), else None
        (and why, logged when ``log``)."""
        why = None
        try:
            cached = load(path, key)
        except CacheUnusable as error:
            why = str(error) if path.exists() else None
            cached = None
        version = store.version()
        if cached is not None and (cached.version > version or not stamp_held(store, cached.stamp)):
            why = "the store does not hold its version and stamp (another database, or restored from a backup)"
        elif cached is not None and cached.version == version and len(cached.columns) != store.count():
            why = f"{len(cached.columns)} stations, the store holds {store.count()}"
        if why is not None and log:
            LOGGER.warning("snapshot cache %s ignored: %s", path, why)
        if cached is None or why is not None:
            return None
        return Snapshot(cached.columns, cached.version, cached.stamp)

    def _build_or_advance(self, store: Store, path: Path, key: dict[str, str], version: int) -> Snapshot:
        """Under the exclusive lock: the cache's snapshot (another process may just have written it), advanced to
        the store's version if older, or built from the store; written back unless it was read as it is."""
        started = time.perf_counter()
        found = self._usable(store, path, key, log=False)  # why not was logged before the lock
        version = max(version, store.version())
        if found is not None and found.version == version:
            return found
        how = "advanced" if found is not None else "built"
        snapshot = advance(store, found, version) if found is not None else build(store, version)
        if found is not None and len(snapshot) != store.count():  # a write landed meanwhile, or rows changed
            how, snapshot = "built", build(store, store.version())  # without a version bump: trust nothing
        if snapshot.stamp is not None:
            try:
                for stale in path.parent.glob(f"{path.name}.*.tmp"):  # left by a process killed while writing
                    stale.unlink(missing_ok=True)
                save(path, snapshot.columns, snapshot.version, snapshot.stamp, key)
            except OSError as error:  # a full disk: serve what was built, without the cache
                LOGGER.warning("snapshot cache %s not written: %s", path, error)
                return snapshot
        LOGGER.info(
            "snapshot cache %s: %s at version %d (%d stations) and written in %.1f s",
            path, how, snapshot.version, len(snapshot), time.perf_counter() - started,
        )  # fmt: skip
        return snapshot
