"""voicekit: contracts, fixtures and tooling shared by the mock server and the conformance suite.

The contracts (specs/) and fixtures (fixtures/) are data; this package only loads and checks them.
"""

from __future__ import annotations

__version__ = "0.1.0"

__all__ = ["__version__"]
