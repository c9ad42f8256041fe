"""Start the real mock (`python -m mockserver.serve`) in a subprocess for over-the-wire tests."""

from __future__ import annotations

import contextlib
import os
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path


@contextlib.contextmanager
def running_mock(*args: str, timeout: float = 20.0) -> Iterator[str]:
    """Yields the base URL (http://localhost:PORT) once the server accepts connections."""
    with tempfile.TemporaryDirectory() as tmp:
        ready = Path(tmp) / "ready"
        log = open(Path(tmp) / "log", "w+")  # noqa: SIM115 - closed below, after the process
        process = subprocess.Popen(
            [sys.executable, "-m", "mockserver.serve", "--port", "0", "--ready-file", str(ready), *args],
            stdout=log,
            stderr=subprocess.STDOUT,
            env={**os.environ, "PYTHONUNBUFFERED": "1"},
        )
        try:
            deadline = time.monotonic() + timeout
            while not ready.exists() or not ready.read_text():
                if process.poll() is not None or time.monotonic() > deadline:
                    log.seek(0)
                    raise RuntimeError(f"the mock did not start:\n{log.read()[-2000:]}")
                time.sleep(0.05)
            yield ready.read_text().strip()
        finally:
            process.terminate()
            try:
                process.wait(timeout=5)
            except subprocess.TimeoutExpired:
                process.kill()
            log.close()
