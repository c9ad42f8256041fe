"""participantsInfo for a phone number: the plain shape of 003 and the country data of 002 l.29."""

from __future__ import annotations

from functools import cache
from pathlib import Path
from typing import Any

import yaml

_DATA = Path(__file__).resolve().parents[2] / "data" / "countries.yaml"


@cache
def _countries() -> dict[str, list[str]]:
    return {str(k): v for k, v in yaml.safe_load(_DATA.read_text(encoding="utf-8")).items()}


def participant_info(number: str) -> dict[str, Any]:
    """003 samples show digits/e164Number/formattedPhoneNumber; a +country number adds 002's fields."""
    digits = "".join(ch for ch in number if ch.isdigit())
    info: dict[str, Any] = {"digits": digits or number, "e164Number": number, "formattedPhoneNumber": number}
    if not number.startswith("+") or not digits:
        return info
    countries = _countries()
    code = next((digits[:n] for n in range(4, 0, -1) if digits[:n] in countries), None)
    if code is None:
        return info
    iso, name, trunk = countries[code]
    calling = "1" if iso in ("US", "CA") else code
    national = digits[len(calling) :]
    info["e164Number"] = f"+{digits}"
    info["E164digits"] = info["e164Number"]  # E327: same value as e164Number
    info["country"] = {"name": name, "code": iso, "callingCode": calling}
    info["location"] = name
    if calling == "1" and len(national) == 10:
        info["localPhoneNumber"] = f"({national[:3]}) {national[3:6]}-{national[6:]}"
        info["formattedPhoneNumber"] = f"+1 {national[:3]}-{national[3:6]}-{national[6:]}"
    else:
        info["localPhoneNumber"] = f"{trunk}{national}"
        info["formattedPhoneNumber"] = f"+{calling} {national}"
    return info
