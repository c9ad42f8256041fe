"""The contracts and the corpus, loaded once per process (they are read-only).

Why here: the checks, the plugin's ``contracts``/``corpus`` fixtures and the certificate's spec versions
share one parsed copy of specs/ instead of re-reading it.
"""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path
from typing import Any

import yaml

from voicekit.contracts import ASYNCAPI_DOCUMENTS, OPENAPI_DOCUMENTS, Contracts
from voicekit.corpus import Corpus
from voicekit.paths import specs_dir

__all__ = ["default_contracts", "default_corpus", "spec_versions"]


@lru_cache(maxsize=1)
def default_contracts() -> Contracts:
    return Contracts()


@lru_cache(maxsize=1)
def default_corpus() -> Corpus:
    return Corpus()


def spec_versions(contracts: Contracts | None = None) -> dict[str, str]:
    """``info.version`` of each OpenAPI/AsyncAPI document present, by file name.

    Without ``contracts``, only each document's ``info`` block is read (parsing every spec costs a second,
    which a run that only writes a certificate should not pay).
    """
    out: dict[str, str] = {}
    for name in sorted({*OPENAPI_DOCUMENTS.values(), *ASYNCAPI_DOCUMENTS.values()}):
        if contracts is not None:
            if contracts.has_document(name):
                doc: Any = contracts.document(name)
                info = doc.get("info") if isinstance(doc, dict) else None
                out[name] = str((info or {}).get("version", "unknown"))
            continue
        path = specs_dir() / name
        if path.is_file():
            out[name] = _info_version(path)
    return out


def _info_version(path: Path) -> str:
    """The ``info.version`` of a YAML document, from its ``info:`` block only."""
    block: list[str] = []
    with path.open(encoding="utf-8") as lines:
        inside = False
        for line in lines:
            if line.startswith("info:"):
                inside = True
                block.append(line)
            elif inside and line[:1] not in (" ", "#", "\n", ""):
                break
            elif inside:
                block.append(line)
    info = (yaml.safe_load("".join(block)) or {}).get("info") if block else None
    return str(info.get("version", "unknown")) if isinstance(info, dict) else "unknown"
