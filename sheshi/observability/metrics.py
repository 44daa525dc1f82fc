"""A small Prometheus metrics registry that sums across processes, with no extra dependency.

gunicorn and the django-q2 cluster run several processes; a scrape reaches one of them. So every
process keeps its own counters in memory and, when ``SHESHI_METRICS_DIR`` is set, writes them to
``<dir>/<pid>.json`` (temp file + rename, so a reader never sees half a file) after each update.
``render()`` sums the files of all processes, including ones that have exited: counters only ever
grow, as Prometheus expects (a cleared folder reads as a counter reset, which ``rate()`` handles).
Without the folder (development, tests) a process reports only its own numbers.

Only counters and cumulative histograms are kept here; gauges such as the job queue depth are read
from the database at scrape time (sheshi/observability/views.py).
"""
from __future__ import annotations

import contextlib
import json
import math
import os
import threading
from collections.abc import Iterable
from pathlib import Path

LATENCY_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, math.inf)
JOB_BUCKETS = (0.1, 0.5, 1.0, 5.0, 15.0, 60.0, 300.0, 900.0, math.inf)

HELP = {
    "sheshi_http_requests_total": ("counter", "HTTP requests by view, method and status class."),
    "sheshi_http_request_duration_seconds": ("histogram", "Time to answer an HTTP request, by view."),
    "sheshi_postings_total": ("counter", "Journal entries posted (counted after commit)."),
    "sheshi_posting_lines_total": ("counter", "Journal lines posted (counted after commit)."),
    "sheshi_jobs_total": ("counter", "django-q2 jobs run, by function and outcome."),
    "sheshi_job_duration_seconds": ("histogram", "Time a django-q2 job ran, by function."),
}

_lock = threading.Lock()
_values: dict[str, float] = {}  # series key ('name{labels}') -> value
_pid = os.getpid()


def _series(name: str, labels: dict[str, str]) -> str:
    if not labels:
        return name
    body = ",".join(f'{k}="{_escape(str(v))}"' for k, v in sorted(labels.items()))
    return f"{name}{{{body}}}"


def _escape(value: str) -> str:
    return value.replace("\\", "\\\\").replace("\n", "\\n").replace('"', '\\"')


def _le(bound: float) -> str:
    return "+Inf" if bound == math.inf else repr(bound)


def _metrics_dir() -> Path | None:
    folder = os.environ.get("SHESHI_METRICS_DIR", "")
    return Path(folder) if folder else None


def _after_fork_reset() -> None:
    """A forked child starts with its parent's numbers in memory; those belong to the parent's file."""
    global _pid
    if os.getpid() != _pid:
        _values.clear()
        _pid = os.getpid()


def _flush() -> None:
    folder = _metrics_dir()
    if folder is None:
        return
    with contextlib.suppress(OSError):  # metrics must never break a request or a job
        folder.mkdir(parents=True, exist_ok=True)
        tmp = folder / f".{_pid}.json.tmp"
        tmp.write_text(json.dumps(_values))
        tmp.replace(folder / f"{_pid}.json")


def inc(name: str, amount: float = 1.0, **labels: str) -> None:
    with _lock:
        _after_fork_reset()
        key = _series(name, labels)
        _values[key] = _values.get(key, 0.0) + amount
        _flush()


def observe(name: str, value: float, buckets: Iterable[float] = LATENCY_BUCKETS, **labels: str) -> None:
    with _lock:
        _after_fork_reset()
        for bound in buckets:
            # Every bucket exists from the first observation on, empty ones as 0 (Prometheus needs all).
            key = _series(f"{name}_bucket", {**labels, "le": _le(bound)})
            _values[key] = _values.get(key, 0.0) + (1 if value <= bound else 0)
        for suffix, amount in (("_sum", value), ("_count", 1.0)):
            key = _series(f"{name}{suffix}", labels)
            _values[key] = _values.get(key, 0.0) + amount
        _flush()


def collect() -> dict[str, float]:
    """Every process's series, summed."""
    with _lock:
        _after_fork_reset()
        own = dict(_values)
    folder = _metrics_dir()
    if folder is None or not folder.is_dir():
        return own
    total: dict[str, float] = {}
    seen_own = False
    for path in folder.glob("*.json"):
        try:
            values = json.loads(path.read_text())
        except (OSError, ValueError):
            continue  # a file being replaced right now; the next scrape reads it
        seen_own = seen_own or path.stem == str(_pid)
        for key, value in values.items():
            total[key] = total.get(key, 0.0) + value
    if not seen_own:
        for key, value in own.items():
            total[key] = total.get(key, 0.0) + value
    return total


def _family(series_key: str) -> str:
    name = series_key.split("{", 1)[0]
    for suffix in ("_bucket", "_sum", "_count"):
        base = name.removesuffix(suffix)
        if base != name and HELP.get(base, ("",))[0] == "histogram":
            return base
    return name


def _sort_key(series_key: str) -> tuple:
    # Buckets in ascending `le` order within a series, as the exposition format requires.
    name, _, labels = series_key.partition("{")
    le = math.inf
    parts = []
    for part in labels.rstrip("}").split('",'):
        if part.startswith('le="'):
            raw = part[4:].rstrip('"')
            le = math.inf if raw == "+Inf" else float(raw)
        elif part:
            parts.append(part)
    return (_family(series_key), ",".join(parts), name, le)


def _number(value: float) -> str:
    return str(int(value)) if float(value).is_integer() else repr(value)


def render(extra: Iterable[tuple[str, str, str, list[tuple[dict[str, str], float]]]] = ()) -> str:
    """Prometheus text format (0.0.4). `extra` adds gauge-like families computed at scrape time:
    (name, type, help, [(labels, value), ...])."""
    values = collect()
    families: dict[str, list[str]] = {}
    for key in sorted(values, key=_sort_key):
        families.setdefault(_family(key), []).append(f"{key} {_number(values[key])}")
    lines: list[str] = []
    for name in sorted(set(HELP) | set(families)):
        kind, text = HELP.get(name, ("untyped", ""))
        lines += [f"# HELP {name} {text}", f"# TYPE {name} {kind}", *families.get(name, [])]
    for name, kind, text, samples in extra:
        lines += [f"# HELP {name} {text}", f"# TYPE {name} {kind}"]
        lines += [f"{_series(name, labels)} {_number(value)}" for labels, value in samples]
    return "\n".join(lines) + "\n"


def reset_for_tests() -> None:
    with _lock:
        _values.clear()
