"""Reporters: consumers of the result events (``results``) — the certificate (JSON, Markdown, HTML), an NDJSON
log, and the optional Allure HTML rendering. JUnit XML and Allure results come from pytest's ``--junitxml``
and allure-pytest's ``--alluredir``."""

from __future__ import annotations

from conformance.reporting.certificate import CertificateReporter, build, summary_lines, write
from conformance.reporting.results import (
    Collector,
    EventHandler,
    NdjsonReporter,
    SessionFinished,
    SessionStarted,
    TestFinished,
    TestResult,
)

__all__ = [
    "CertificateReporter",
    "Collector",
    "EventHandler",
    "NdjsonReporter",
    "SessionFinished",
    "SessionStarted",
    "TestFinished",
    "TestResult",
    "build",
    "summary_lines",
    "write",
]
