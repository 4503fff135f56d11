"""Hand the C allocator's free memory back to the system after each cycle.

A cycle on a large cluster builds, then drops, a snapshot and a rendered body of tens of MB.
Python frees its own small-object arenas once they are empty, but everything larger comes from
the C allocator, and glibc keeps freed chunks in its heaps (and raises its mmap threshold after
large frees, so the next large buffers come from the heap too). The process's RSS then follows
the largest cycle it has ever seen plus fragmentation, not what it holds. `malloc_trim(0)` gives
the free pages back; it runs off the cycle's path (the poller calls it after publishing, the
Admin API child after answering) and releases the GIL while it works. Where the C library has no
`malloc_trim` (musl, macOS) it is a no-op.
"""

from __future__ import annotations

import ctypes
import functools
import logging
from collections.abc import Callable

log = logging.getLogger(__name__)


@functools.cache
def _load() -> Callable[[int], int] | None:
    try:
        process = ctypes.CDLL(None)  # the symbols the process already has, the C library's too
    except OSError:
        return None
    fn = getattr(process, "malloc_trim", None)
    if fn is None:
        return None
    fn.argtypes = [ctypes.c_size_t]
    fn.restype = ctypes.c_int
    log.debug("malloc_trim available")
    return fn  # type: ignore[no-any-return]


def release_free_memory() -> bool:
    """Give free heap pages back to the system; True when some were given back."""
    trim = _load()
    return trim is not None and bool(trim(0))
