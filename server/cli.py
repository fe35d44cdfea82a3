"""The server's command: ``unnatural serve``, added to the root command by :mod:`unnatural.cli`.

FastAPI and uvicorn are imported only when ``serve`` runs, so the rest of the command line works
without the server extras.
"""
from __future__ import annotations

import argparse
from pathlib import Path

from unnatural.generator.args import UsageError, int_arg
from unnatural.generator.spec import MAX_SIZE, MIN_SIZE


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
                                  max_streams=args.max_streams, render_timeout=float(args.render_timeout))
        serve(settings, args.host, args.port, args.log_level)
    except SettingsError as exc:
        raise UsageError(str(exc)) from None
    return 0
