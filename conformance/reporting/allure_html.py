"""Render the Allure results as an HTML report when the ``allure`` command line is installed.

Optional by design: the results directory is the deliverable; the HTML is a convenience that needs Java and
the Allure CLI, which CI images often lack. A missing CLI is reported in the summary, never an error.
"""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

__all__ = ["QUICK_JVM", "render"]

#: A short-lived JVM: the client compiler only and the serial collector. ``allure generate`` runs a few seconds,
#: too short for the optimising compiler to pay off: measured on the project's 2-core machine, 466 test results
#: render in about 2/3 of the wall time with half the CPU.
QUICK_JVM = "-XX:TieredStopAtLevel=1 -XX:+UseSerialGC"


def _find_cli() -> str | None:
    """``allure`` on PATH, else the one the project's set-up installs from npm (allure-commandline)."""
    from voicekit.paths import node_modules_dir

    modules = node_modules_dir()
    local = modules / ".bin" / "allure" if modules is not None else None
    found = local is not None and local.exists() and shutil.which("java")
    return shutil.which("allure") or (str(local) if found else None)


def render(results: Path, output: Path, *, timeout: float = 300.0) -> str:
    """Run ``allure generate``; returns a one-line note for the summary."""
    cli = _find_cli()
    if cli is None:
        return (
            "Allure HTML not rendered: no `allure` command on PATH (the results are in "
            f"{results}; render them with `allure generate {results}`)"
        )
    if not results.is_dir():
        return f"Allure HTML not rendered: {results} does not exist"
    try:
        done = subprocess.run(
            [cli, "generate", str(results), "-o", str(output), "--clean"],
            capture_output=True,
            text=True,
            timeout=timeout,
            check=False,
            env={"JAVA_OPTS": QUICK_JVM, **os.environ},  # the user's JAVA_OPTS wins
        )
    except (OSError, subprocess.TimeoutExpired) as exc:
        return f"Allure HTML not rendered: {exc}"
    if done.returncode != 0:
        return f"Allure HTML not rendered: allure exited {done.returncode}: {done.stderr.strip()[:200]}"
    return f"Allure HTML report: {output}"
