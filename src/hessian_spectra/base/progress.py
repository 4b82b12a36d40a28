"""One progress display for every long loop: a tqdm bar with rate and ETA.

In a terminal it redraws in place; in a log file (Snakemake's ``log:``) tqdm writes a
new line at most every ``mininterval`` seconds, so logs show periodic progress lines.
"""

from __future__ import annotations

import sys

from tqdm.auto import tqdm


def progress(iterable=None, *, total=None, desc: str = "", disable: bool = False, **kwargs):
    """A tqdm bar on stderr that updates at most every 2 s in logs (0.1 s on a terminal)."""
    interactive = sys.stderr.isatty()
    return tqdm(iterable, total=total, desc=desc, disable=disable, file=sys.stderr,
                mininterval=0.1 if interactive else 2.0, dynamic_ncols=True, **kwargs)
