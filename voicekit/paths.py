"""Where the contracts and fixtures live: beside the sources in a checkout, or packaged in a wheel."""

from __future__ import annotations

import os
from pathlib import Path

_PACKAGE = Path(__file__).resolve().parent


def _locate(name: str) -> Path:
    override = os.environ.get(f"VOICEKIT_{name.upper()}_DIR")
    if override:
        return Path(override).resolve()
    checkout = _PACKAGE.parent / name
    if checkout.is_dir():
        return checkout
    return _PACKAGE / "data" / name


def specs_dir() -> Path:
    """The folder holding the OpenAPI/AsyncAPI documents, JSON Schemas, catalog and errata."""
    return _locate("specs")


def fixtures_dir() -> Path:
    """The folder holding one YAML file per documented sample."""
    return _locate("fixtures")


def seeds_dir() -> Path:
    """The seed documents, which sit beside the checkout in ../shared/seeds (not shipped)."""
    override = os.environ.get("VOICEKIT_SEEDS_DIR")
    if override:
        return Path(override).resolve()
    return (_PACKAGE.parent.parent / "shared" / "seeds").resolve()


def node_modules_dir() -> Path:
    """Node tools installed by the project's set-up (AsyncAPI schemas, the CometD client)."""
    return _PACKAGE.parent / "node_modules"
