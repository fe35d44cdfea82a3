"""The server's command: ``unnatural serve``, added to the root command by :mod:`unnatural.cli`.

FastAPI and uvicorn are imported only when ``serve`` runs, so the rest of the command line works
without the server extras.
"""
from __future__ import annotations

import argparse
from pathlib import Path

from unnatural.generator.args import UsageError, int_arg
from unnatural.generator.spec import MAX_COMPOSED_PROGRAMS, MAX_IMAGES, MAX_SIZE, MIN_SIZE


def add_commands(sub) -> None:
    """Add ``serve`` to the root command's subparsers."""
    p = sub.add_parser(
        "serve", help="serve virtual shards and endless streams over HTTP",
        description="Serve datasets over HTTP (FastAPI on uvicorn): GET /datasets/NAME/NAME-{k:06d}.tar renders "
                    "shard k on demand (the same bytes `unnatural render` writes), GET /stream?seed=&size=&format="
                    "&families=&start= streams an endless tar, GET / is a gallery, /healthz /readyz /metrics are "
                    "for operations. Settings also come from UNNATURAL_* variables (see README).")
    p.add_argument("--host", default="127.0.0.1", help="bind address (default 127.0.0.1; 0.0.0.0 for all)")
    p.add_argument("--port", type=int_arg("--port", 1, 65535), default=8000, help="TCP port (default 8000)")
    p.add_argument("--workers", type=int_arg("--workers", 1, 256), default=None,
                   help="render processes, one EGL context each (default: one per GPU, else one per CPU core)")
    p.add_argument("--config", type=Path, default=None,
                   help="YAML/JSON file of dataset specs to register at start: 'datasets: [spec, ...]'")
    p.add_argument("--token-file", type=Path, default=None,
                   help="file whose first line is the bearer token required on every endpoint but /healthz "
                        "and /readyz (default: $UNNATURAL_TOKEN if set, else no auth)")
    p.add_argument("--max-size", type=int_arg("--max-size", MIN_SIZE, MAX_SIZE), default=512,
                   help="largest image side a request may ask for, in pixels (default 512)")
    p.add_argument("--max-images-per-shard", type=int_arg("--max-images-per-shard", 1, 1_000_000),
                   default=10_000, help="largest images_per_shard of a spec (default 10000)")
    p.add_argument("--max-streams", type=int_arg("--max-streams", 1, 10_000), default=32,
                   help="concurrent shard/stream responses; more get 429 + Retry-After (default 32)")
    p.add_argument("--max-images", type=int_arg("--max-images", 1, MAX_IMAGES), default=100_000_000,
                   help="largest images of a spec (default 100000000)")
    p.add_argument("--max-composed-programs", type=int_arg("--max-composed-programs", 0, MAX_COMPOSED_PROGRAMS),
                   default=64, help="largest composed_programs of a spec sent over HTTP; each is compiled in "
                                    "every render process (default 64)")
    p.add_argument("--max-body-bytes", type=int_arg("--max-body-bytes", 1024, 1 << 30), default=1 << 20,
                   help="largest request body; larger ones get 413 unread (default 1048576)")
    p.add_argument("--public-url", default=None, metavar="URL",
                   help="base URL of the brace URLs handed out, e.g. https://data.example.com (default: the URL "
                        "each request came to, so set it when clients can choose the Host header)")
    p.add_argument("--allowed-hosts", default="*", metavar="HOSTS",
                   help="comma list of Host header values to answer, others get 400 (default '*': any)")
    p.add_argument("--render-timeout", type=int_arg("--render-timeout", 1, 86_400), default=120,
                   help="seconds one render job may take before the watchdog restarts its process (default 120)")
    p.add_argument("--log-level", choices=("critical", "error", "warning", "info", "debug"), default="info",
                   help="log level (access logs at info)")
    p.set_defaults(func=_cmd_serve)


def _cmd_serve(args: argparse.Namespace) -> int:
    try:
        from .app import serve
        from .settings import ServerSettings, SettingsError, load_token
    except ImportError as exc:
        raise UsageError(f"the server needs its extras ({exc.name} is missing): pip install 'unnatural[server]'") from None
    try:
        settings = ServerSettings(workers=args.workers, config=args.config, token=load_token(args.token_file),
                                  max_size=args.max_size, max_images_per_shard=args.max_images_per_shard,
                                  max_streams=args.max_streams, render_timeout=float(args.render_timeout),
                                  max_images=args.max_images, max_composed_programs=args.max_composed_programs,
                                  max_body_bytes=args.max_body_bytes, public_url=args.public_url,
                                  allowed_hosts=args.allowed_hosts)
        serve(settings, args.host, args.port, args.log_level)
    except SettingsError as exc:
        raise UsageError(str(exc)) from None
    return 0
