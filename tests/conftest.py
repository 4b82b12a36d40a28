import socket
from pathlib import Path

import pytest
import torch

# The test problems are tiny: one thread is as fast, and it does not spin against the
# Snakemake jobs that the workflow tests start.
torch.set_num_threads(1)


@pytest.fixture
def no_network(monkeypatch):
    """Any attempt to open a connection fails the test (the data loaders' offline paths)."""
    def refuse(*args, **kwargs):
        raise AssertionError("network access attempted")
    monkeypatch.setattr(socket.socket, "connect", refuse)
    monkeypatch.setattr(socket, "create_connection", refuse)


@pytest.fixture(scope="session")
def built(tmp_path_factory) -> Path:
    """The ci profile built end to end (every family, the claims and the report) in a
    temporary copy of the project; shared by the workflow, report and reference tests."""
    from project import copy_project, snakemake

    project = copy_project(tmp_path_factory.mktemp("first"))
    result = snakemake(project)
    assert result.returncode == 0, result.stderr[-5000:]
    return project
