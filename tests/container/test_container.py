"""The container image: built from a Debian base made here (debootstrap + ``docker import``, since no public image
registry is reachable), run as a non-root user, healthy by its own health check, answering, and certified by the
kit running from the same image. The Docker daemon is Debian's ``docker.io``, started by the test when it is not
running; the set-up of the tests (``make test``, as root) installs it and debootstrap.

Networking stays on this machine's loopback: the containers use the host's network namespace.
"""

from __future__ import annotations

import json
import os
import shutil
import socket
import subprocess
import time
import tomllib
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from conformance.errors import ConfigError
from conformance.target import mock_data

ROOT = Path(__file__).resolve().parents[2]
BASE = "voicekit-debian-base:bookworm"
IMAGE = "voicekit:test"
WORK = Path(os.environ.get("VOICEKIT_CONTAINER_WORK", "/var/tmp/voicekit-container"))


def _run(*args: str, timeout: float = 900, check: bool = True, **kwargs: object) -> subprocess.CompletedProcess[str]:
    done = subprocess.run(list(args), capture_output=True, text=True, timeout=timeout, check=False, **kwargs)  # type: ignore[call-overload]
    if check and done.returncode != 0:
        raise AssertionError(
            f"{' '.join(args[:4])}… exited {done.returncode}:\n{done.stdout[-2000:]}\n{done.stderr[-3000:]}"
        )
    return done


def _docker_ready() -> bool:
    return shutil.which("docker") is not None and _run("docker", "info", check=False, timeout=30).returncode == 0


def _need(reason: str) -> None:
    if os.environ.get("CI"):
        pytest.fail(f"{reason}; CI must be able to run the container test", pytrace=False)
    pytest.skip(reason)


@pytest.fixture(scope="module")
def docker() -> Iterator[None]:
    """A running Docker daemon (Debian's dockerd started here when none runs)."""
    started = None
    if not _docker_ready():
        if shutil.which("dockerd") is None or os.geteuid() != 0:
            _need("no Docker daemon and none can be started (make test, as root, installs Debian's docker.io)")
        log = open(WORK.parent / "voicekit-dockerd.log", "w")  # noqa: SIM115 - closed with the daemon
        started = subprocess.Popen(["dockerd"], stdout=log, stderr=subprocess.STDOUT)
        deadline = time.monotonic() + 60
        while not _docker_ready():
            assert started.poll() is None and time.monotonic() < deadline, "dockerd did not start"
            time.sleep(1)
    yield
    if started is not None:
        started.terminate()
        started.wait(timeout=30)


@pytest.fixture(scope="module")
def image(docker: None) -> str:
    """The base image made locally (kept between runs), then the project's image built on it."""
    if _run("docker", "image", "inspect", BASE, check=False, timeout=60).returncode != 0:
        if shutil.which("debootstrap") is None:
            _need("debootstrap is not installed (make test, as root, installs it)")
        rootfs = WORK / "rootfs"
        shutil.rmtree(rootfs, ignore_errors=True)
        rootfs.mkdir(parents=True)
        _run(
            "debootstrap",
            "--variant=minbase",
            "--include=python3,python3-venv,ca-certificates",
            "bookworm",
            str(rootfs),
            "http://deb.debian.org/debian",
            timeout=1800,
        )
        # The base trusts what this machine trusts (a TLS-intercepting egress is common in CI), for pip.
        shutil.copy("/etc/ssl/certs/ca-certificates.crt", rootfs / "etc/ssl/certs/ca-certificates.crt")
        (rootfs / "etc/pip.conf").write_text("[global]\ncert = /etc/ssl/certs/ca-certificates.crt\n")
        tar = subprocess.Popen(["tar", "-C", str(rootfs), "-c", "."], stdout=subprocess.PIPE)
        _run("docker", "import", "-", BASE, stdin=tar.stdout, timeout=600)
        tar.wait(timeout=60)
        shutil.rmtree(rootfs, ignore_errors=True)
    _run(
        "docker",
        "build",
        "--network",
        "host",
        "-q",
        "-t",
        IMAGE,
        "--build-arg",
        f"BASE_IMAGE={BASE}",
        str(ROOT),
        timeout=1800,
    )
    return IMAGE


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@pytest.fixture
def container(image: str) -> Iterator[str]:
    port = _free_port()
    name = f"voicekit-test-{port}"
    _run(
        "docker",
        "run",
        "-d",
        "--name",
        name,
        "--network",
        "host",
        "-e",
        f"VOICEKIT_PORT={port}",
        "-e",
        "VOICEKIT_CONTROL_TOKEN=container-token",
        image,
        timeout=120,
    )
    try:
        yield f"http://localhost:{port}"
    finally:
        _run("docker", "rm", "-f", name, check=False, timeout=120)


def test_the_container_answers_is_healthy_and_non_root(container: str) -> None:
    name = f"voicekit-test-{container.rsplit(':', 1)[1]}"
    deadline = time.monotonic() + 120
    health = ""
    while time.monotonic() < deadline:
        health = _run("docker", "inspect", "-f", "{{.State.Health.Status}}", name, timeout=60).stdout.strip()
        if health == "healthy":
            break
        time.sleep(2)
    assert health == "healthy", health
    version = httpx.get(f"{container}/api/v2/diagnostics/version", timeout=10)
    assert version.status_code == 200 and version.json()["statusCode"] == 0
    assert httpx.post(f"{container}/control/reset", timeout=10).status_code == 401, "the token from the environment"
    assert _run("docker", "exec", name, "id", "-u", timeout=60).stdout.strip() != "0"


def _published_config(container: str, seconds: float = 120) -> dict[str, Any]:
    """What the container's mock publishes for the kit, once it answers (a container takes a moment to start)."""
    deadline = time.monotonic() + seconds
    while True:
        try:
            return mock_data(container, token="container-token")
        except ConfigError:
            if time.monotonic() > deadline:
                raise
            time.sleep(1)


def test_the_kit_in_the_image_certifies_the_container(container: str, image: str, tmp_path: Path) -> None:
    config = _published_config(container)
    config["events"]["control_token"] = "container-token"
    (tmp_path / "target.json").write_text(json.dumps(config))
    reports = tmp_path / "reports"
    reports.mkdir()
    reports.chmod(0o777)
    done = _run(
        "docker",
        "run",
        "--rm",
        "--network",
        "host",
        "-v",
        f"{tmp_path / 'target.json'}:/work/target.json:ro",
        "-v",
        f"{reports}:/work/reports",
        image,
        "certify",
        "--config",
        "/work/target.json",
        "--profile",
        "gws-voice-core",
        "--report-dir",
        "/work/reports",
        check=False,
        timeout=900,
    )
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-2000:]
    certificate = json.loads((reports / "certificate.json").read_text(encoding="utf-8"))
    assert certificate["status"] == "passed" and certificate["totals"].get("passed", 0) > 0


def test_compose_file_describes_the_same_mock_and_certification() -> None:
    """compose.yaml's certify service reads examples/compose-target.toml: it must be what the kit derives for the
    mock service, and the services must use the image and the health check of the Dockerfile."""
    import yaml

    compose = yaml.safe_load((ROOT / "compose.yaml").read_text(encoding="utf-8"))
    assert {"mock", "certify"} <= set(compose["services"])
    certify = compose["services"]["certify"]
    assert certify["command"][0] == "certify" and "/work/target.toml" in certify["command"]
    assert any("compose-target.toml" in v for v in certify["volumes"])
    target = tomllib.loads((ROOT / "examples" / "compose-target.toml").read_text(encoding="utf-8"))
    from mockserver.app import create_app

    published = create_app({"port": 0}).test_client().get("/control/target-config", base_url="http://mock:8080")
    assert target == published.get_json()
    if shutil.which("docker-compose"):
        _run("docker-compose", "-f", str(ROOT / "compose.yaml"), "config", "-q", timeout=60)
