"""What a failed conformance check raises: the target broke a rule (``AssertionError``, so pytest reports a
failure), with the rule id, a title, a severity and the evidence that ties it to the documents.

Transport problems caused by the target (refused connections, timeouts, bodies that are not JSON) are
failures too: a target that does not answer does not conform.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

__all__ = ["SEVERITIES", "ConformanceFailure", "Evidence", "ProtocolViolation", "TargetUnreachable"]

#: Allure's severity levels, most severe first.
SEVERITIES = ("blocker", "critical", "normal", "minor", "trivial")


@dataclass
class Evidence:
    """Where a rule comes from and what was seen: fixture id, seed document and its lines."""

    fixture: str | None = None
    document: str | None = None
    lines: tuple[int, int] | None = None
    details: list[str] = field(default_factory=list)

    def merged(self, other: Evidence | None) -> Evidence:
        """Fill the fields this evidence leaves empty from ``other`` (e.g. the test's markers)."""
        if other is None:
            return self
        return Evidence(
            self.fixture or other.fixture,
            self.document or other.document,
            self.lines or other.lines,
            [*self.details, *other.details],
        )

    def as_dict(self) -> dict[str, Any]:
        return {
            "fixture": self.fixture,
            "document": self.document,
            "lines": list(self.lines) if self.lines else None,
            "details": list(self.details),
        }


class ConformanceFailure(AssertionError):
    """The target violated a rule.

    Args:
        message: What was wrong, in one or two sentences (redacted before it reaches a report).
        rule: The rule id (``GWS-CAP-001``); when omitted, the test's ``rule`` marker supplies it.
        title: A short name for the violation.
        severity: One of :data:`SEVERITIES`; when omitted, the test's ``severity`` marker or its profile decides.
        evidence: Fixture, document and lines; the test's markers fill in what is missing.
    """

    default_title = "Conformance failure"

    def __init__(
        self,
        message: str,
        *,
        rule: str | None = None,
        title: str | None = None,
        severity: str | None = None,
        evidence: Evidence | None = None,
    ) -> None:
        super().__init__(message)
        self.message = message
        self.rule = rule
        self.title = title or self.default_title
        self.severity = severity
        self.evidence = evidence or Evidence()

    def __str__(self) -> str:
        head = f"[{self.rule}] " if self.rule else ""
        return f"{head}{self.title}: {self.message}"


class TargetUnreachable(ConformanceFailure):
    """The target refused the connection, did not answer in time, or the answer broke off.

    ``outage`` says whether this shows the system down: ``"hang"`` (no answer, or not all of it, in time) or
    ``"unreachable"`` (no connection); None when the system answered (e.g. it closed a WebSocket). The plugin
    gives a system up after repeated outages (``conformance.target``).
    """

    default_title = "Target unreachable"

    def __init__(self, message: str, *, outage: str | None = None, **kwargs: Any) -> None:
        super().__init__(message, **kwargs)
        self.outage = outage


class ProtocolViolation(ConformanceFailure):
    """The target answered, but not in the protocol: a body that is not JSON, a Bayeux reply without a
    channel, a WebSocket frame that cannot be parsed."""

    default_title = "Protocol violation"
