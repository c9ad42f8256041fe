"""The report of observed traffic, in the formats ``certify`` writes: ``proxy-report.json``, ``.md``, a
self-contained ``.html``, and ``junit.xml`` (one test case per rule exercised; broken rules fail with their
findings). Everything passes the kit's redaction once more before it is written.
"""

from __future__ import annotations

import html
import json
import xml.etree.ElementTree as ET
from pathlib import Path
from typing import Any

from conformance.redact import redact_text

__all__ = ["write"]


def _lines(finding: dict[str, Any]) -> str:
    if finding.get("lines"):
        return f"{finding['document']} l.{finding['lines'][0]}-{finding['lines'][1]}"
    sources = finding.get("sources") or []
    if sources:
        first = sources[0]
        return f"{first.get('document')} l.{'-'.join(str(n) for n in first.get('lines') or [])}"
    return str(finding.get("document") or "")


def markdown(report: dict[str, Any]) -> str:
    out = [
        f"# voicekit proxy — observed traffic of {report['upstream']}",
        "",
        f"Verdict: **{report['verdict']}** — {report['exchanges']} exchanges, {report['violations']} violations, "
        f"{report['advisories']} advisory findings.",
        "",
        "## Operations seen",
        "",
        "| operation | exchanges |",
        "|---|---|",
    ]
    out += [f"| `{op}` | {n} |" for op, n in sorted(report["operations"].items())]
    out += ["", "## Rules", "", "| rule | title | exercised | broken |", "|---|---|---|---|"]
    out += [f"| {rule} | {r['title']} | {r['exercised']} | {r['broken']} |" for rule, r in report["rules"].items()]
    out += ["", "## Findings", ""]
    for finding in report["findings"]:
        out.append(
            f"- **{finding['level']}** `{finding['rule']}` (exchange {finding['exchange']}, "
            f"{_lines(finding)}): {finding['message']}"
        )
    if not report["findings"]:
        out.append("None.")
    out += [
        "",
        "## Exchanges with findings (evidence)",
        "",
        "| # | system | request | status | operation | verdict |",
        "|---|---|---|---|---|---|",
    ]
    out += [
        f"| {x['id']} | {x['system']} | {x['method']} `{x['path']}` | {x['status']} | {x['operation'] or ''} | "
        f"{x['verdict']} |"
        for x in report["evidence"]
    ]
    return "\n".join(out) + "\n"


def render_html(report: dict[str, Any]) -> str:
    def esc(value: Any) -> str:
        return html.escape(str(value))

    rows = "".join(
        f"<tr><td>{esc(r)}</td><td>{esc(v['title'])}</td><td>{v['exercised']}</td>"
        f"<td class='{'bad' if v['broken'] else ''}'>{v['broken']}</td></tr>"
        for r, v in report["rules"].items()
    )
    findings = (
        "".join(
            f"<li class='{esc(f['level'])}'><b>{esc(f['rule'])}</b> (exchange {esc(f['exchange'])}, "
            f"{esc(_lines(f))}): {esc(f['message'])}</li>"
            for f in report["findings"]
        )
        or "<li>None.</li>"
    )
    operations = "".join(
        f"<tr><td><code>{esc(op)}</code></td><td>{n}</td></tr>" for op, n in sorted(report["operations"].items())
    )
    evidence = "".join(
        f"<tr><td>{x['id']}</td><td>{esc(x['system'])}</td><td>{esc(x['method'])} "
        f"<code>{esc(x['path'])}</code></td><td>{esc(x['status'])}</td><td>{esc(x['operation'] or '')}"
        f"</td><td>{esc(x['verdict'])}</td></tr>"
        for x in report["evidence"]
    )
    return f"""<!doctype html><html lang="en"><head><meta charset="utf-8"><title>voicekit proxy report</title>
<style>body{{font:14px system-ui,sans-serif;margin:2em;color:#1d2330}}table{{border-collapse:collapse}}
td,th{{border:1px solid #ddd;padding:3px 8px;text-align:left}}.bad,.violation{{color:#b42318}}
.advisory{{color:#7a5b00}}code{{font-size:12px}}</style></head><body>
<h1>voicekit proxy — observed traffic of {esc(report["upstream"])}</h1>
<p>Verdict: <b class="{"bad" if report["violations"] else ""}">{esc(report["verdict"])}</b> — {report["exchanges"]}
exchanges, {report["violations"]} violations, {report["advisories"]} advisory findings.</p>
<h2>Operations seen</h2><table><tr><th>operation</th><th>exchanges</th></tr>{operations}</table>
<h2>Rules</h2><table><tr><th>rule</th><th>title</th><th>exercised</th><th>broken</th></tr>{rows}</table>
<h2>Findings</h2><ul>{findings}</ul>
<h2>Exchanges with findings (evidence)</h2><table><tr><th>#</th><th>system</th><th>request</th><th>status</th>
<th>operation</th><th>verdict</th></tr>{evidence}</table></body></html>
"""


def junit(report: dict[str, Any]) -> bytes:
    suite = ET.Element(
        "testsuite",
        name="voicekit-proxy",
        tests=str(len(report["rules"])),
        failures=str(sum(1 for r in report["rules"].values() if r["broken"])),
    )
    for rule, info in report["rules"].items():
        case = ET.SubElement(suite, "testcase", classname="voicekit.proxy", name=f"{rule} {info['title']}")
        mine = [f for f in report["findings"] if f["rule"] == rule]
        broken = [f for f in mine if f["level"] == "violation"]
        if broken:
            failure = ET.SubElement(case, "failure", message=f"{len(broken)} violations of {rule}")
            failure.text = "\n".join(f"exchange {f['exchange']}: {f['message']}" for f in broken[:50])
        advisories = [f for f in mine if f["level"] == "advisory"]
        if advisories:
            out = ET.SubElement(case, "system-out")
            out.text = "\n".join(f"advisory: exchange {f['exchange']}: {f['message']}" for f in advisories[:50])
    document: bytes = ET.tostring(suite, encoding="utf-8", xml_declaration=True)
    return document


def write(summary: dict[str, Any], directory: Path, *, upstream: str) -> list[Path]:
    """Write the four files; returns their paths."""
    report = {
        "kit": "voicekit",
        "kind": "observed-traffic",
        "upstream": upstream,
        "verdict": "violations found" if summary["violations"] else "no violation seen",
        **summary,
    }
    report = json.loads(redact_text(json.dumps(report, default=str)))
    directory.mkdir(parents=True, exist_ok=True)
    files = {
        "proxy-report.json": json.dumps(report, indent=2, ensure_ascii=False),
        "proxy-report.md": markdown(report),
        "proxy-report.html": render_html(report),
    }
    written = []
    for name, text in files.items():
        (directory / name).write_text(text, encoding="utf-8")
        written.append(directory / name)
    (directory / "junit.xml").write_bytes(junit(report))
    written.append(directory / "junit.xml")
    return written
