"""Where anchors are kept: a write-once store outside the database.

The database cannot prove its own tail — whoever can delete its newest rows can also rewind what
it says about them — so the signed anchors live elsewhere, in a store that only ever adds files.

``AnchorStore`` is the whole interface the anchor code uses: ``put`` a new object (refused if
the name exists, never an overwrite), list the ``names``, ``read`` one. ``DirectoryAnchorStore``
is the one implementation: files created with O_EXCL, read-only mode, fsynced with their folder.
A directory on the application host is append-only only as far as its permissions and mount make
it (a separate volume, ``chattr +a`` on the folder, a different owner); for production an
S3 bucket with Object Lock in compliance mode is the intended backend (``put`` = PutObject with
``If-None-Match: *`` and a retention period, ``names`` = ListObjectsV2, ``read`` = GetObject). It
is not implemented here: a class with these three methods, chosen by
``SHESHI_AUDIT_ANCHOR_STORE``, is all it takes.
"""
from __future__ import annotations

import os
import re
from pathlib import Path
from typing import Protocol

from django.conf import settings
from django.db import connection
from django.utils.module_loading import import_string

NAME_RE = re.compile(r"^(?P<at>\d{8}T\d{6}Z)-(?P<sequence>\d{8})\.json$")


class AnchorExistsError(Exception):
    """An anchor with this name is already stored (a store never overwrites)."""


class AnchorStore(Protocol):
    def put(self, name: str, data: bytes) -> None:
        """Store ``data`` under ``name``; raise AnchorExistsError if the name is taken."""

    def names(self) -> list[str]:
        """Every stored name, in any order."""

    def read(self, name: str) -> bytes: ...

    def describe(self) -> str:
        """Where the anchors are, for messages (a path, a bucket and prefix)."""


def anchor_name(*, at_compact: str, sequence: int) -> str:
    return f"{at_compact}-{sequence:08d}.json"


def anchor_sequence(name: str) -> int | None:
    match = NAME_RE.match(name)
    return int(match["sequence"]) if match else None


class DirectoryAnchorStore:
    """Anchors as files in one folder, each created once (O_CREAT | O_EXCL) and left read-only."""

    def __init__(self, path: str | os.PathLike[str]) -> None:
        self.path = Path(path)

    def put(self, name: str, data: bytes) -> None:
        if anchor_sequence(name) is None:
            raise ValueError(f"not an anchor name: {name!r}")
        self.path.mkdir(parents=True, exist_ok=True)
        try:
            fd = os.open(self.path / name, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o444)
        except FileExistsError:
            raise AnchorExistsError(f"{self.path / name} already exists") from None
        try:
            view = memoryview(data)
            while view:
                view = view[os.write(fd, view):]
            os.fsync(fd)
        finally:
            os.close(fd)
        # The new directory entry must reach the disk too, or a crash could lose the file.
        dir_fd = os.open(self.path, os.O_RDONLY)
        try:
            os.fsync(dir_fd)
        finally:
            os.close(dir_fd)

    def names(self) -> list[str]:
        if not self.path.is_dir():
            return []
        return [p.name for p in self.path.iterdir() if anchor_sequence(p.name) is not None]

    def read(self, name: str) -> bytes:
        return (self.path / name).read_bytes()

    def describe(self) -> str:
        return str(self.path)


def anchor_location() -> str:
    """``SHESHI_AUDIT_ANCHOR_DIR``, or with ``SHESHI_AUDIT_ANCHOR_PER_DATABASE`` (development and
    tests, never production) a sub-folder named after this database instance (name and oid): a
    database recreated under the same name gets a new oid, so a dropped development or test
    database's anchors never bind its successor. Production keeps one configured location, so a
    database recreated from a doctored dump still meets the anchors of the real one."""
    base = settings.SHESHI_AUDIT_ANCHOR_DIR
    if not getattr(settings, "SHESHI_AUDIT_ANCHOR_PER_DATABASE", False):
        return base
    with connection.cursor() as cur:
        cur.execute("SELECT current_database(), oid FROM pg_database WHERE datname = current_database()")
        name, oid = cur.fetchone()
    return str(Path(base) / f"{name}-{oid}")


def anchor_store() -> AnchorStore:
    """The configured store: ``SHESHI_AUDIT_ANCHOR_STORE`` (dotted path of a class taking the
    location) at ``anchor_location()``."""
    cls = import_string(settings.SHESHI_AUDIT_ANCHOR_STORE)
    return cls(anchor_location())
