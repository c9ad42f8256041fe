"""The contracts and the corpus, loaded once per process (they are read-only).

Why here: the checks, the plugin's ``contracts``/``corpus`` fixtures and the certificate's spec versions
share one parsed copy of specs/ instead of re-reading it.
"""

from __future__ import annotations

from functools import lru_cache
from typing import Any

from voicekit.contracts import ASYNCAPI_DOCUMENTS, OPENAPI_DOCUMENTS, Contracts
from voicekit.corpus import Corpus

__all__ = ["default_contracts", "default_corpus", "spec_versions"]


@lru_cache(maxsize=1)
def default_contracts() -> Contracts:
    return Contracts()


@lru_cache(maxsize=1)
def default_corpus() -> Corpus:
    return Corpus()


def spec_versions(contracts: Contracts | None = None) -> dict[str, str]:
    """``info.version`` of each OpenAPI/AsyncAPI document present, by file name."""
    contracts = contracts or default_contracts()
    out: dict[str, str] = {}
    for name in sorted({*OPENAPI_DOCUMENTS.values(), *ASYNCAPI_DOCUMENTS.values()}):
        if contracts.has_document(name):
            doc: Any = contracts.document(name)
            info = doc.get("info") if isinstance(doc, dict) else None
            out[name] = str((info or {}).get("version", "unknown"))
    return out
