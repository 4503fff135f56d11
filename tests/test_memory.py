"""`exporter.memory.release_free_memory`: free heap pages given back after a large cycle."""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
from pathlib import Path

# Allocate 200 MB in chunks the C allocator serves from its heap, keep every 20th (so the
# free space is holes, not the heap's top, which free() would give back by itself), drop the
# rest, and read the RSS before and after the trim. In a child process: pytest's own heap
# stays out of the figures.
SCRIPT = textwrap.dedent(
    """
    import os, sys
    from exporter.memory import release_free_memory

    def rss_mib():
        with open("/proc/self/statm") as fh:
            return int(fh.read().split()[1]) * os.sysconf("SC_PAGE_SIZE") / 2**20

    chunks = [bytearray(100_000) for _ in range(2_000)]
    kept = chunks[::20]
    del chunks
    before = rss_mib()
    released = release_free_memory()
    after = rss_mib()
    print(released, round(before, 1), round(after, 1), len(kept))
    """
)


def test_release_gives_free_heap_pages_back() -> None:
    env = dict(os.environ, PYTHONPATH=str(Path(__file__).resolve().parent.parent))
    done = subprocess.run([sys.executable, "-c", SCRIPT], capture_output=True, text=True,
                          timeout=60, env=env, check=False)  # fmt: skip
    assert done.returncode == 0, done.stderr
    released, before, after, _ = done.stdout.split()
    assert released == "True", done.stdout
    assert float(before) > 150, f"the 190 MB of holes were not held before the trim: {done.stdout}"
    assert float(after) < float(before) - 150, f"the trim gave too little back: {done.stdout}"
