"""The one HTML page shape the gradebook writes: self-contained (style inline, plots as inline SVG), UTF-8."""

from __future__ import annotations

import html

STYLE = """
body{font-family:'Noto Sans Bengali','Noto Sans',system-ui,sans-serif;max-width:60rem;margin:2rem auto;padding:0 1rem;
line-height:1.45;color:#1f2328}
table{border-collapse:collapse;margin:.5rem 0 1rem}td,th{border:1px solid #d0d7de;padding:.25rem .5rem;vertical-align:top;
text-align:left}th{background:#f6f8fa}.PASS{color:#1a7f37;font-weight:bold}.FAIL{color:#cf222e;font-weight:bold}
.SKIP{color:#9a6700;font-weight:bold}.hint{font-style:italic;color:#57606a}.problem{border:2px solid #cf222e;
background:#fff1f0;padding:.5rem 1rem}.muted{color:#57606a}svg{max-width:100%;height:auto}
"""


def esc(value: object) -> str:
    return html.escape(str(value))


def document(title: str, body: str, lang: str = "bn") -> str:
    """A whole page around ``body`` (already HTML)."""
    return (f'<!DOCTYPE html>\n<html lang="{lang}">\n<head>\n<meta charset="utf-8">\n'
            f'<meta name="viewport" content="width=device-width, initial-scale=1">\n<title>{esc(title)}</title>\n'
            f"<style>{STYLE}</style>\n</head>\n<body>\n{body}\n</body>\n</html>\n")


def table(header: list[str], rows: list[list[str]]) -> str:
    """A table; cells are HTML already (escape what is text)."""
    head = "".join(f"<th>{h}</th>" for h in header)
    body = "".join("<tr>" + "".join(f"<td>{c}</td>" for c in row) + "</tr>" for row in rows)
    return f"<table><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>"
