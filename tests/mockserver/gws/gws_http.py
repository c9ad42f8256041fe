"""Credentials and ids of the default seed for the GWS HTTP tests (a uniquely named module: conftest
files are not importable by name when several exist)."""

from __future__ import annotations

import base64


def basic(user: str, password: str = "password") -> dict[str, str]:
    return {"Authorization": "Basic " + base64.b64encode(f"{user}:{password}".encode()).decode()}


AGENT = basic("paveld@redwings.com")  # device 5000
AGENT_B = basic("jsmith@uppercape.ca")  # device 5001
SUPERVISOR = basic("sgarcia@redwings.com")
ADMIN = basic("mikeb@redwings.com")
DEVICE_A = "74152ed8-858f-4a33-9e96-36213a678d30"
DEVICE_B = "9c14cad7-17c4-48d0-8492-7cf0ff92c224"
