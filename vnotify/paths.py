"""Where the project keeps its files: one place, overridable by environment."""

from __future__ import annotations

import os
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parents[1]
SAMPLE_CONFIG = REPO_ROOT / "config" / "sample-agency.yaml"


def project_home() -> Path:
    """Project-local state (embedded database, run artifacts); git-ignored."""
    home = Path(os.environ.get("VNOTIFY_HOME", REPO_ROOT / ".vnotify")).expanduser().resolve()
    home.mkdir(parents=True, exist_ok=True)
    return home


def config_path() -> Path:
    return Path(os.environ.get("VNOTIFY_CONFIG", SAMPLE_CONFIG)).expanduser().resolve()
