"""The mock launcher: a subprocess on a free port, its ready file, and clear errors when it cannot start."""

from __future__ import annotations

import stat
from pathlib import Path

import httpx
import pytest

from conformance.errors import LaunchError
from conformance.launcher import MockProcess


def test_start_and_stop(mock_server: MockProcess) -> None:
    """The session's mock (tests/conformance/conftest.py) is up; a second one gets its own port."""
    assert mock_server.running and mock_server.base_url
    with MockProcess(csrf=False) as other:
        assert other.base_url and other.base_url != mock_server.base_url
        assert httpx.get(f"{other.base_url}/api/v2/diagnostics/version", timeout=5).json()["statusCode"] == 0
        pid = other.pid
    assert not other.running and other.pid is None and pid
    assert other.stop() is None, "stopping twice is harmless"


def test_a_mock_that_exits_reports_its_stderr(tmp_path: Path) -> None:
    with pytest.raises(LaunchError) as caught:
        MockProcess(seed=tmp_path / "no-such-seed.yaml", startup_timeout=30).start()
    message = str(caught.value)
    assert "exited with code" in message and "its stderr ends with" in message
    assert "no-such-seed.yaml" in message


def test_a_mock_that_never_gets_ready_times_out(tmp_path: Path) -> None:
    script = tmp_path / "slow-python"
    script.write_text("#!/bin/sh\necho starting >&2\nexec sleep 30\n", encoding="utf-8")
    script.chmod(script.stat().st_mode | stat.S_IXUSR)
    process = MockProcess(python=str(script), startup_timeout=0.5)
    with pytest.raises(LaunchError, match=r"did not become ready within 0\.5 s") as caught:
        process.start()
    assert "starting" in str(caught.value), "the stderr tail is part of the error"
    assert not process.running


def test_an_interpreter_that_cannot_run(tmp_path: Path) -> None:
    with pytest.raises(LaunchError, match="cannot start the mock"):
        MockProcess(python=str(tmp_path / "missing-python")).start()
