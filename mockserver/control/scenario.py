"""The scenario on the control API: ``GET {control}/scenario`` (status and log), ``PUT`` (a scenario as JSON or
YAML; validated completely before the running one is replaced), ``DELETE`` (stop). See ``mockserver.scenarios``."""

from __future__ import annotations

from typing import Any

import yaml
from flask import Blueprint, Flask, Response, current_app, jsonify, request

from mockserver import jsonsafe
from mockserver.scenarios import ScenarioError, ScenarioRunner
from voicekit.exchanges import parse_json

__all__ = ["init_app", "load_file"]

bp = Blueprint("scenario", __name__)


def _runner() -> ScenarioRunner:
    return current_app.extensions["voicekit.scenario"]


def _refused(problems: list[str], status: int = 400) -> Response:
    response = jsonify({"error": "not a valid scenario", "problems": problems, "status": status})
    response.status_code = status
    return response


def parse(data: bytes | str, content_type: str) -> Any:
    """A scenario document from JSON or YAML text (safe loader; JSON is YAML too), within the JSON limits of
    specs/schemas/control/JsonLimits.json (YAML's .nan/.inf, deep nesting and alias bombs are refused)."""
    doc = parse_json(data) if "json" in content_type else yaml.safe_load(data)
    jsonsafe.check(doc)
    return doc


@bp.get("")
def status() -> Response:
    return jsonify(_runner().status())


@bp.put("")
def start() -> Response:
    limit = current_app.config["VOICEKIT"].max_body_bytes
    data = request.get_data()
    if len(data) > limit:
        return _refused([f"the scenario is larger than {limit} bytes"], 413)
    try:
        doc = parse(data, request.content_type or "")
    except (ValueError, yaml.YAMLError, RecursionError) as exc:
        return _refused([f"not JSON or YAML: {str(exc).splitlines()[0][:200]}"])
    try:
        return jsonify(_runner().start(doc))
    except ScenarioError as invalid:
        return _refused(invalid.problems)


@bp.delete("")
def stop() -> Response:
    _runner().stop()
    return jsonify(_runner().status())


def load_file(path: str) -> Any:
    """A scenario file's document (for ``--scenario``); raises ScenarioError when unreadable."""
    try:
        with open(path, encoding="utf-8") as handle:
            doc = yaml.safe_load(handle)
        jsonsafe.check(doc)
        return doc
    except (OSError, yaml.YAMLError, ValueError) as exc:
        raise ScenarioError([f"{path}: {exc}"]) from exc


def init_app(app: Flask) -> ScenarioRunner:
    config = app.config["VOICEKIT"]
    connect = app.extensions.get("voicekit.connect")
    runner = ScenarioRunner(
        app.extensions["voicekit.gws"].world,
        app.extensions["voicekit.scheduler"],
        connect.center if connect is not None else None,
    )
    app.extensions["voicekit.scenario"] = runner
    app.extensions.setdefault("voicekit.reset_hooks", []).append(runner.restart)
    app.register_blueprint(bp, url_prefix=f"{config.control_prefix}/scenario")
    return runner
