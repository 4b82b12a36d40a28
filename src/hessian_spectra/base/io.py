"""Atomic file writes: a reader (or an interrupted run) never sees a half-written file.

Every output is written to a temporary file in the target's folder and moved into
place with ``os.replace``, which is atomic on POSIX file systems.
"""

from __future__ import annotations

import json
import os
import tempfile
from contextlib import contextmanager
from pathlib import Path
from typing import Iterator

import numpy as np


@contextmanager
def atomic_path(path: str | os.PathLike) -> Iterator[Path]:
    """Yield a temporary path next to ``path``; move it onto ``path`` when the block succeeds."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=path.suffix)
    os.close(fd)
    try:
        yield Path(tmp)
        os.replace(tmp, path)
    finally:
        if os.path.exists(tmp):
            os.unlink(tmp)


def save_npz(path: str | os.PathLike, metadata: dict | None = None, **arrays: np.ndarray) -> None:
    """Arrays in a compressed .npz; ``metadata`` (JSON-serialisable) is stored as ``metadata``."""
    if metadata is not None:
        arrays["metadata"] = np.array(json.dumps(metadata, sort_keys=True))
    with atomic_path(path) as tmp:
        with open(tmp, "wb") as handle:
            np.savez_compressed(handle, **arrays)


def load_npz(path: str | os.PathLike) -> tuple[dict[str, np.ndarray], dict]:
    """(arrays, metadata) from a file written by ``save_npz``."""
    with np.load(path, allow_pickle=False) as data:
        arrays = {key: data[key] for key in data.files if key != "metadata"}
        metadata = json.loads(str(data["metadata"])) if "metadata" in data.files else {}
    return arrays, metadata


def save_text(path: str | os.PathLike, text: str) -> None:
    with atomic_path(path) as tmp:
        tmp.write_text(text)
