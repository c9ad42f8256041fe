"""voicekit.contracts.parse_yaml (libyaml when PyYAML has it) reads every spec, table, erratum and fixture
exactly as ``yaml.safe_load`` does: it is only faster."""

from __future__ import annotations

import yaml

from voicekit.contracts import parse_yaml
from voicekit.paths import fixtures_dir, specs_dir


def test_parse_yaml_equals_safe_load_on_every_document() -> None:
    paths = sorted([*specs_dir().rglob("*.yaml"), *fixtures_dir().rglob("*.yaml")])
    assert len(paths) > 100
    for path in paths:
        text = path.read_text(encoding="utf-8")
        assert parse_yaml(text) == yaml.safe_load(text), path
