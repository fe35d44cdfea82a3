"""``GET /``: one static HTML page (no JavaScript) with the shader families, their preview
contact sheets, and the registered datasets with their brace URLs; and the sign-in form shown
instead when the server has a token and the browser no session."""
from __future__ import annotations

from html import escape
from urllib.parse import urlencode

PREVIEW_SIZE = 48
PREVIEW_COLUMNS = 8

_STYLE = """
body { font: 15px/1.45 system-ui, sans-serif; margin: 2rem auto; max-width: 72rem; padding: 0 1rem;
       color: #222; background: #fafafa; }
h1 { margin-bottom: .2rem; } .sub { color: #666; margin-top: 0; }
table { border-collapse: collapse; width: 100%; margin: 1rem 0 2rem; }
th, td { text-align: left; padding: .35rem .6rem; border-bottom: 1px solid #ddd; vertical-align: middle; }
th { background: #eee; } code { font-size: 13px; word-break: break-all; }
img { image-rendering: pixelated; display: block; }
.error { color: #a00; }
"""


def _preview_src(family: str) -> str:
    return "preview.png?" + urlencode({"family": family, "size": PREVIEW_SIZE, "columns": PREVIEW_COLUMNS})


def gallery_html(families: list[dict], composed: dict, datasets: list[dict], auth: bool) -> str:
    """The page.

    Args:
        families: ``[{"cls", "name", "summary", "params"}]`` in class order (``GET /shaders``).
        composed: the composed-program entry of ``GET /shaders``.
        datasets: ``GET /datasets/{name}`` bodies.
        auth: the server wants a token (the page says so; this browser has a session cookie).
    """
    rows = []
    for f in families + [{"cls": composed["cls"], "name": composed["name"], "summary": composed["summary"],
                          "params": "structure from the composer seed; numbers from iParams"}]:
        rows.append(
            f"<tr><td>{f['cls']}</td><td><b>{escape(f['name'])}</b><br><small>{escape(f['summary'])}</small>"
            f"<br><small>params: {escape(f['params'])}</small></td>"
            f"<td><img src=\"{escape(_preview_src(f['name']))}\" loading=\"lazy\" alt=\"{escape(f['name'])} previews\"></td></tr>")
    if datasets:
        ds_rows = "".join(
            f"<tr><td><b>{escape(d['name'])}</b></td><td>{d['samples']:,}</td><td>{d['num_shards']:,}</td>"
            f"<td>{d['spec']['width']}x{d['spec']['height']} {escape(d['spec']['format'])}</td>"
            f"<td>{escape(d['status'])}</td><td><code>{escape(d['url_template'])}</code></td></tr>" for d in datasets)
        ds_table = ("<table><tr><th>name</th><th>samples</th><th>shards</th><th>images</th><th>status</th>"
                    f"<th>brace URL (webdataset)</th></tr>{ds_rows}</table>")
    else:
        ds_table = "<p>No datasets registered: start the server with <code>--config</code> or <code>POST /datasets</code>.</p>"
    note = ("<p><b>This server requires a bearer token</b> on every endpoint but /healthz and /readyz; "
            "this browser holds a session cookie for it.</p>" if auth else "")
    return _page(f"""<h1>unnatural</h1>
<p class="sub">Procedural GLSL images for data-free knowledge distillation, rendered on demand.</p>
{note}
<h2>Datasets</h2>
{ds_table}
<p>Endless stream: <code>/stream?seed=0&amp;size=32&amp;format=jpg&amp;families=all&amp;start=0</code>.
Catalogue as JSON: <a href="shaders">/shaders</a>. Metrics: <a href="metrics">/metrics</a>.</p>
<h2>Shader families</h2>
<table><tr><th>class</th><th>family</th><th>{PREVIEW_COLUMNS} draws at {PREVIEW_SIZE} px</th></tr>
{''.join(rows)}
</table>""")


def sign_in_html(error: str | None = None) -> str:
    """The sign-in page: a form that posts the token to ``session`` (a relative URL, so the
    page works under a path prefix too); ``error`` is said above it."""
    problem = f'<p class="error" role="alert">{escape(error)}</p>' if error else ""
    return _page(f"""<h1>unnatural</h1>
<p class="sub">This server requires a token. Sign in to see the gallery: the browser gets a session cookie
(HttpOnly, SameSite=Strict), so the token never appears in a URL or a log.</p>
{problem}
<form method="post" action="session">
<label>Token <input type="password" name="token" autocomplete="current-password" required autofocus></label>
<button type="submit">Sign in</button>
</form>""")


def _page(body: str) -> str:
    return f"""<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>unnatural</title><style>{_STYLE}</style></head>
<body>
{body}
</body></html>
"""
