"""Unit tests run hermetically: no STOCKYARD_* variable leaks in from the shell or from a session fixture of the
integration layer (pytest runs all layers in one process), and the home is a temporary directory."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest


@pytest.fixture(autouse=True)
def _hermetic_settings(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Iterator[None]:
    from stockyard.settings import get_settings

    for key in list(os.environ):
        if key.startswith("STOCKYARD_"):
            monkeypatch.delenv(key)
    monkeypatch.setenv("STOCKYARD_HOME", str(tmp_path / "stockyard_home"))
    get_settings.cache_clear()
    yield
    get_settings.cache_clear()
