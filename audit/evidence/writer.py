"""Write a dataset into the evidence zip as CSV and JSON at once, hashing as it goes.

Rows stream through: the CSV goes straight into its zip entry, the JSON into a spooled temporary
file (memory up to ``SPOOL_BYTES``, then disk) that is copied into the zip afterwards — a zip file
accepts one open entry at a time. Memory stays bounded whatever the number of rows.

Values: ``Decimal`` as a plain decimal string (never an exponent, the scale kept), dates and
times in ISO 8601, ``None`` as an empty CSV cell / JSON ``null``, nested JSON (line dimensions)
as JSON. The JSON file holds one row per line (its first line opens ``{"dataset", "columns",
"rows": [``), so a reader can stream it line by line. CSV text is escaped against formula
injection (sheshi.escaping) before numbers become strings, so a negative amount is never
mistaken for a formula.
"""
from __future__ import annotations

import csv
import datetime as dt
import hashlib
import io
import json
import shutil
import tempfile
import zipfile
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from decimal import Decimal
from typing import Any, BinaryIO

from sheshi.escaping import escape_row

SPOOL_BYTES = 8 * 1024 * 1024
FLUSH_ROWS = 500


def plain(value: Any) -> Any:
    """A JSON-safe value: exact decimals and times as strings; dicts/lists recursively."""
    if isinstance(value, Decimal):
        return decimal_text(value)
    if isinstance(value, dt.datetime | dt.date):
        return value.isoformat()
    if isinstance(value, dict):
        return {str(k): plain(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [plain(v) for v in value]
    return value


def decimal_text(value: Decimal) -> str:
    return format(value, "f")


def csv_cell(value: Any) -> Any:
    if value is None:
        return ""
    if isinstance(value, Decimal):
        return decimal_text(value)
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, dt.datetime | dt.date):
        return value.isoformat()
    if isinstance(value, dict | list):
        return json.dumps(plain(value), sort_keys=True, ensure_ascii=False)
    return value


@dataclass(frozen=True)
class FileRecord:
    name: str
    sha256: str
    size: int
    rows: int | None = None

    def as_dict(self) -> dict[str, Any]:
        record: dict[str, Any] = {"name": self.name, "sha256": self.sha256, "size": self.size}
        if self.rows is not None:
            record["rows"] = self.rows
        return record


class _Sink:
    """Text in, UTF-8 bytes out to ``target``, counting and hashing every byte."""

    def __init__(self, target: BinaryIO):
        self.target = target
        self.hash = hashlib.sha256()
        self.size = 0

    def write(self, text: str) -> None:
        data = text.encode("utf-8")
        self.hash.update(data)
        self.size += len(data)
        self.target.write(data)


class EvidenceZip:
    """The archive being written: datasets, then the manifest (see archive.py)."""

    def __init__(self, out: BinaryIO):
        self.zip = zipfile.ZipFile(out, "w", compression=zipfile.ZIP_DEFLATED, allowZip64=True)
        self.files: list[FileRecord] = []

    def _entry(self, name: str) -> BinaryIO:
        info = zipfile.ZipInfo(name, date_time=dt.datetime.now(tz=dt.UTC).timetuple()[:6])
        info.compress_type = zipfile.ZIP_DEFLATED
        return self.zip.open(info, "w", force_zip64=True)

    def dataset(self, name: str, columns: Sequence[str], rows: Iterable[Sequence[Any]]) -> int:
        """Write ``<name>.csv`` and ``<name>.json`` from one pass over ``rows``; returns the count."""
        columns = list(columns)
        count = 0
        with tempfile.SpooledTemporaryFile(max_size=SPOOL_BYTES) as json_target:
            json_sink = _Sink(json_target)
            with self._entry(f"{name}.csv") as csv_target:
                csv_sink = _Sink(csv_target)
                buf = io.StringIO()
                writer = csv.writer(buf, lineterminator="\r\n")
                writer.writerow(columns)
                json_sink.write(json.dumps({"dataset": name, "columns": columns})[:-1] + ', "rows": [')
                for row in rows:
                    values = list(row)
                    if len(values) != len(columns):
                        raise ValueError(f"{name}: row has {len(values)} values for {len(columns)} columns")
                    writer.writerow([csv_cell(v) for v in escape_row(values)])
                    record = dict(zip(columns, (plain(v) for v in values), strict=True))
                    json_sink.write(("\n" if count == 0 else ",\n") + json.dumps(record, ensure_ascii=False))
                    count += 1
                    if count % FLUSH_ROWS == 0:
                        csv_sink.write(buf.getvalue())
                        buf.seek(0)
                        buf.truncate()
                csv_sink.write(buf.getvalue())
                json_sink.write("\n]}\n")
            json_target.seek(0)
            with self._entry(f"{name}.json") as json_entry:
                shutil.copyfileobj(json_target, json_entry)
        self.files.append(FileRecord(f"{name}.csv", csv_sink.hash.hexdigest(), csv_sink.size, count))
        self.files.append(FileRecord(f"{name}.json", json_sink.hash.hexdigest(), json_sink.size, count))
        return count

    def raw(self, name: str, data: bytes) -> None:
        """A file that is not listed in the manifest (the manifest itself)."""
        with self._entry(name) as entry:
            entry.write(data)

    def close(self) -> None:
        self.zip.close()
