"""Fixtures for the integration tests that need tools built for the occasion."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest

from tests.conftest import REPO


@pytest.fixture(scope="session")
def actionlint() -> Path:
    """actionlint built from its Go module into .cache/bin/ (reused when already there)."""
    proc = subprocess.run(
        [str(REPO / "scripts" / "install-actionlint.sh")], capture_output=True, text=True
    )
    assert proc.returncode == 0, f"scripts/install-actionlint.sh failed:\n{proc.stderr}"
    return Path(proc.stdout.strip())
