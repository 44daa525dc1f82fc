"""Python's cyclic garbage collector paused around work that builds large acyclic structures.

A 10,000-entry batch request holds ~200,000 parsed JSON values, 30,000 inputs and the COPY rows at
once; each allocation of 700 containers runs a young collection, and every so often a full one walks
every live object — 100–150 ms of a batch request's ~400 ms of CPU, measured with the batch API
bench. Nothing those paths build is cyclic (plain dicts, lists, strings, numbers and frozen
inputs), so reference counting frees it all; the collector resumes when the block ends, and any
cycle made meanwhile is collected then.
"""
from __future__ import annotations

import gc
from collections.abc import Iterator
from contextlib import contextmanager


@contextmanager
def cyclic_gc_paused() -> Iterator[None]:
    """Pause the cyclic collector for the block (also a decorator); a no-op where it is off already
    (nested, or disabled by the process)."""
    if not gc.isenabled():
        yield
        return
    gc.disable()
    try:
        yield
    finally:
        gc.enable()
