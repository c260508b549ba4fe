"""A pyiceberg FileIO that spends fewer S3 requests on each lake commit.

pyiceberg's stock `PyArrowFileIO` costs, per append commit, about 13 PUT/POST/LIST and 11 GET/HEAD
requests (measured on moto, see `docs/cost.md`). Most of them are not needed:

- **Multipart uploads for small objects.** pyarrow's S3 output stream starts a multipart upload when
  it is opened, so every object (data file, manifest, manifest list, metadata.json) costs
  CreateMultipartUpload + UploadPart + CompleteMultipartUpload. With `allow_delayed_open` pyarrow
  buffers the first part and, if the stream closes before a part (10 MB) fills, sends one PutObject.
- **A HEAD after every write.** pyiceberg asks the size of the data file and the manifest it has just
  written (`len(output_file)`); the stream here counts the bytes instead.
- **An existence check (HEAD + LIST) before every metadata.json.** The name holds a fresh UUID, so
  the check cannot find anything; it is skipped for names with a UUID.
- **Re-reading the same immutable objects.** Every Iceberg metadata file (metadata.json, manifest
  list, manifest) is written once under a unique name and never changed, yet one commit reads the
  current metadata.json up to three times (watermark read, commit base, the catalog's own check)
  and the manifest list it wrote in the previous commit. Those objects are kept in a small
  process-wide cache (bounded in bytes) filled by both reads and writes, so a warm Lambda reads an
  object at most once and never reads back what it wrote.

Data (Parquet) files are never cached: scans read ranges of them and they can be large.

Enable it with the catalog property `py-io-impl` = `reviva.adapters.lake.fileio.LakeFileIO` (done by
`reviva.adapters.lake.catalog.load_lake_catalog`).
"""

from __future__ import annotations

import re
import threading
from collections import OrderedDict
from collections.abc import Callable
from typing import Any

import pyarrow as pa
from pyarrow.fs import FileSystem, S3FileSystem
from pyiceberg.io import (
    AWS_ACCESS_KEY_ID,
    AWS_REGION,
    AWS_SECRET_ACCESS_KEY,
    AWS_SESSION_TOKEN,
    S3_ACCESS_KEY_ID,
    S3_ENDPOINT,
    S3_REGION,
    S3_RETRY_STRATEGY_IMPL,
    S3_SECRET_ACCESS_KEY,
    S3_SESSION_TOKEN,
    InputFile,
    InputStream,
    OutputFile,
    OutputStream,
)
from pyiceberg.io.pyarrow import BUFFER_SIZE, ONE_MEGABYTE, PyArrowFile, PyArrowFileIO
from pyiceberg.typedef import EMPTY_DICT, Properties

LAKE_FILE_IO = "reviva.adapters.lake.fileio.LakeFileIO"

# Iceberg's metadata files: table metadata, manifest lists and manifests.
_METADATA_SUFFIXES = (".metadata.json", ".avro", ".json")
_UUID = re.compile(r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}", re.IGNORECASE)
_LOCAL_SCHEMES = frozenset({"", "file"})
_S3_SCHEMES = frozenset({"s3", "s3a", "s3n"})

DEFAULT_CACHE_BYTES = 64 * 1024 * 1024
# A single object larger than this is never cached (a huge metadata.json means expiry is overdue;
# caching it would evict everything else).
MAX_CACHED_OBJECT_BYTES = 16 * 1024 * 1024


class ImmutableObjectCache:
    """A thread-safe LRU of whole objects, keyed by location, bounded by total bytes."""

    def __init__(self, max_bytes: int = DEFAULT_CACHE_BYTES) -> None:
        self.max_bytes = max_bytes
        self._entries: OrderedDict[str, bytes] = OrderedDict()
        self._size = 0
        self._lock = threading.Lock()
        self.hits = 0
        self.misses = 0

    def get(self, location: str) -> bytes | None:
        """The object's bytes, or None when not cached (counted as a miss)."""
        with self._lock:
            data = self._entries.get(location)
            if data is None:
                self.misses += 1
                return None
            self._entries.move_to_end(location)
            self.hits += 1
            return data

    def put(self, location: str, data: bytes) -> None:
        """Remember an object; the least recently used ones go first when over the byte budget."""
        if len(data) > min(self.max_bytes, MAX_CACHED_OBJECT_BYTES):
            return
        with self._lock:
            previous = self._entries.pop(location, None)
            if previous is not None:
                self._size -= len(previous)
            self._entries[location] = data
            self._size += len(data)
            while self._size > self.max_bytes and self._entries:
                _, evicted = self._entries.popitem(last=False)
                self._size -= len(evicted)

    def discard(self, location: str) -> None:
        """Forget an object (it was deleted)."""
        with self._lock:
            data = self._entries.pop(location, None)
            if data is not None:
                self._size -= len(data)

    def clear(self) -> None:
        """Forget everything (tests; a process that changed credentials)."""
        with self._lock:
            self._entries.clear()
            self._size = 0
            self.hits = self.misses = 0

    @property
    def size_bytes(self) -> int:
        """Bytes held now."""
        return self._size


# One cache per process: pyiceberg builds a new FileIO on every table load, so a per-instance cache
# would be empty exactly when it is needed.
METADATA_CACHE = ImmutableObjectCache()

# pyarrow S3 filesystems are thread-safe and cost a client each; share them between FileIOs.
_filesystems: dict[tuple[Any, ...], FileSystem] = {}
_filesystems_lock = threading.Lock()
_s3_clients: dict[tuple[tuple[str, str], ...], Any] = {}


def is_immutable_metadata(location: str) -> bool:
    """True for an Iceberg metadata object written once under a unique (UUID) name."""
    name = location.rsplit("/", 1)[-1]
    return name.endswith(_METADATA_SUFFIXES) and _UUID.search(name) is not None


def _has_unique_name(location: str) -> bool:
    return _UUID.search(location.rsplit("/", 1)[-1]) is not None


class _CountingOutputStream:
    """Wraps pyarrow's output stream: counts bytes (so no HEAD is needed for the size afterwards)
    and, for metadata objects, keeps a copy for the cache."""

    def __init__(self, inner: Any, owner: LakeFile, keep_copy: bool) -> None:
        self._inner = inner
        self._owner = owner
        self._copy: list[bytes] | None = [] if keep_copy else None
        self._written = 0
        self._closed = False

    def write(self, data: Any) -> int:
        view = memoryview(data).cast("B") if not isinstance(data, bytes) else data
        self._inner.write(view)
        if self._copy is not None:
            self._copy.append(bytes(view))
        self._written += len(view)
        return len(view)

    def tell(self) -> int:
        return self._written

    def flush(self) -> None:
        self._inner.flush()

    @property
    def closed(self) -> bool:
        return self._closed

    def writable(self) -> bool:
        return True

    def readable(self) -> bool:
        return False

    def seekable(self) -> bool:
        return False

    def close(self) -> None:
        if self._closed:
            return
        # Close first: with delayed open this is the PUT, and a failed upload must not be cached.
        self._inner.close()
        self._closed = True
        self._owner._written(self._written, b"".join(self._copy) if self._copy is not None else None)

    def __enter__(self) -> _CountingOutputStream:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()


class LakeFile(PyArrowFile):
    """A PyArrowFile that remembers what it wrote and serves immutable metadata from the cache."""

    def __init__(
        self, *args: Any, cacheable: bool, fetch: Callable[[], bytes] | None = None, **kwargs: Any
    ) -> None:
        super().__init__(*args, **kwargs)
        self._cacheable = cacheable
        self._fetch = fetch
        self._size_written: int | None = None

    def _written(self, size: int, data: bytes | None) -> None:
        self._size_written = size
        if data is not None:
            METADATA_CACHE.put(self.location, data)

    def __len__(self) -> int:
        """The object's size: known after writing it or from the cache, else asked of S3."""
        if self._size_written is not None:
            return self._size_written
        if self._cacheable and (data := METADATA_CACHE.get(self.location)) is not None:
            return len(data)
        return super().__len__()

    def exists(self) -> bool:
        """Whether the object exists (a cached object does without asking)."""
        if self._cacheable and METADATA_CACHE.get(self.location) is not None:
            return True
        return super().exists()

    def open(self, seekable: bool = True) -> InputStream:
        """Open for reading; a metadata object is read whole once and then served from memory."""
        if not self._cacheable:
            return super().open(seekable=seekable)
        data = METADATA_CACHE.get(self.location)
        if data is None:
            if self._fetch is not None:
                data = self._fetch()
            else:
                with super().open(seekable=seekable) as stream:
                    data = stream.read()
            METADATA_CACHE.put(self.location, data)
        return pa.BufferReader(data)  # type: ignore[return-value]

    def create(self, overwrite: bool = False) -> OutputStream:
        """Open for writing; skips the existence check for UUID-named objects (it cannot match)."""
        stream = super().create(overwrite=overwrite or _has_unique_name(self.location))
        return _CountingOutputStream(stream, self, keep_copy=self._cacheable)  # type: ignore[return-value]


class LakeFileIO(PyArrowFileIO):
    """PyArrowFileIO with single-request uploads, no size HEADs and an immutable-metadata cache."""

    def __init__(self, properties: Properties = EMPTY_DICT) -> None:
        super().__init__(properties)

    def _initialize_s3_fs(self, netloc: str | None) -> FileSystem:
        key = ("s3", netloc, tuple(sorted(self.properties.items())))
        with _filesystems_lock:
            if (shared := _filesystems.get(key)) is not None:
                return shared
        filesystem = super()._initialize_s3_fs(netloc)
        if self.properties.get(S3_RETRY_STRATEGY_IMPL) is None:
            # pyiceberg builds the filesystem from its properties but exposes no switch for delayed
            # open; rebuild it from pyarrow's own serialized arguments with the switch on.
            rebuild, (arguments,) = filesystem.__reduce__()  # type: ignore[misc]
            arguments = {**arguments, "allow_delayed_open": True}
            filesystem = rebuild(arguments)
        with _filesystems_lock:
            return _filesystems.setdefault(key, filesystem)

    def _file(self, location: str) -> LakeFile:
        scheme, netloc, path = self.parse_location(location, self.properties)
        cacheable = scheme not in _LOCAL_SCHEMES and is_immutable_metadata(location)
        fetch = None
        if cacheable and scheme in _S3_SCHEMES:
            bucket, key = netloc, path[len(netloc) :].lstrip("/")

            def fetch() -> bytes:
                return self._get_object(location, bucket, key)

        return LakeFile(
            fs=self.fs_by_scheme(scheme, netloc),
            location=location,
            path=path,
            buffer_size=int(self.properties.get(BUFFER_SIZE, ONE_MEGABYTE)),
            cacheable=cacheable,
            fetch=fetch,
        )

    def _get_object(self, location: str, bucket: str, key: str) -> bytes:
        """A whole metadata object in one GET (pyarrow's reader sends a HEAD first for the size)."""
        client = self._s3_client()
        try:
            body: bytes = client.get_object(Bucket=bucket, Key=key)["Body"].read()
        except client.exceptions.NoSuchKey as error:
            raise FileNotFoundError(f"Cannot open file, does not exist: {location}") from error
        return body

    def new_input(self, location: str) -> LakeFile:
        """A file to read; Iceberg metadata objects come from the process cache when present."""
        return self._file(location)

    def new_output(self, location: str) -> LakeFile:
        """A file to write in one request (when under pyarrow's part size)."""
        return self._file(location)

    def delete(self, location: str | InputFile | OutputFile) -> None:
        """Delete the object (one DeleteObject on S3) and forget any cached copy.

        pyarrow's `delete_file` on S3 sends HEAD + DELETE and then PUTs an empty "directory"
        marker for the parent, a billed PUT for every old metadata.json pyiceberg drops after a
        commit; one DeleteObject is all S3 needs (a missing key is not an error there either).
        """
        str_location = location if isinstance(location, str) else location.location
        METADATA_CACHE.discard(str_location)
        scheme, netloc, path = self.parse_location(str_location, self.properties)
        if scheme in _S3_SCHEMES:
            key = path[len(netloc) :].lstrip("/")
            self._s3_client().delete_object(Bucket=netloc, Key=key)
            return
        super().delete(location)

    def _s3_client(self) -> Any:
        """A boto3 S3 client with the FileIO's endpoint, region and credentials (shared)."""
        get = self.properties.get
        options = {
            "endpoint_url": get(S3_ENDPOINT),
            "region_name": get(S3_REGION) or get(AWS_REGION),
            "aws_access_key_id": get(S3_ACCESS_KEY_ID) or get(AWS_ACCESS_KEY_ID),
            "aws_secret_access_key": get(S3_SECRET_ACCESS_KEY) or get(AWS_SECRET_ACCESS_KEY),
            "aws_session_token": get(S3_SESSION_TOKEN) or get(AWS_SESSION_TOKEN),
        }
        key = tuple(sorted((name, value) for name, value in options.items() if value))
        with _filesystems_lock:
            client = _s3_clients.get(key)
            if client is None:
                import boto3
                from botocore.config import Config

                from reviva.aws_clients import MAX_POOL_CONNECTIONS

                # One client per endpoint, shared by every concurrent lake write: pool as wide.
                pool = Config(max_pool_connections=MAX_POOL_CONNECTIONS)
                client = boto3.client("s3", config=pool, **dict(key))
                _s3_clients[key] = client
            return client


def delayed_open_enabled(filesystem: FileSystem) -> bool:
    """Whether an S3 filesystem uploads small objects with one PutObject (for tests and checks)."""
    if not isinstance(filesystem, S3FileSystem):
        return False
    _, (arguments,) = filesystem.__reduce__()  # type: ignore[misc]
    return bool(arguments.get("allow_delayed_open"))
