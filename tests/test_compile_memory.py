"""The compiler leaves the process's garbage collector as it found it: a long-lived process
(the daemon compiles on every reload) that compiles 1,000 configs keeps collecting, freezes
nothing, and does not grow. The one-shot CLI's own settings (`axoc.process`) are the CLI's."""

from __future__ import annotations

import subprocess
import sys
import textwrap

from tests.conftest import ROOT

SCRIPT = textwrap.dedent(
    """
    import gc, itertools, os, sys
    from pathlib import Path
    from axoc import pipeline

    def rss():
        with open("/proc/self/statm") as f:
            return int(f.read().split()[1]) * os.sysconf("SC_PAGE_SIZE")

    paths = sorted(str(p) for p in Path("tests/golden/check").glob("*.yaml"))
    paths += sorted(str(p) for p in Path("examples").glob("*.yaml"))
    frozen = gc.get_freeze_count()
    sizes = []
    for i, path in enumerate(itertools.islice(itertools.cycle(paths), 1000)):
        pipeline.compile_file(path, {})
        assert gc.isenabled(), "the collector was left off"
        if i + 1 in (200, 1000):
            gc.collect()
            sizes.append(rss())
    print(gc.get_freeze_count() - frozen, sizes[1] - sizes[0])
    """
)


def test_compiling_1000_configs_freezes_nothing_and_does_not_grow() -> None:
    done = subprocess.run(
        [sys.executable, "-c", SCRIPT], cwd=ROOT, capture_output=True, text=True, timeout=600
    )
    assert done.returncode == 0, done.stderr
    frozen, growth = (int(x) for x in done.stdout.split())
    assert frozen == 0
    # 800 more compiles of the same configs: what is retained is caches, not per-compile garbage
    assert growth < 8_000_000, f"grew {growth / 1e6:.1f} MB over 800 compiles"
