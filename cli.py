"""The root ``unnatural`` command. It only assembles the subcommands each package contributes:
every module in :data:`COMMAND_MODULES` has ``add_commands(subparsers)``. Heavy imports (torch,
FastAPI) wait until a command runs, so ``unnatural render`` starts fast.

Bad usage exits with code 2 and one line naming the bad value and the allowed range; a machine
without EGL/GL exits with code 3.
"""
from __future__ import annotations

import importlib
import sys

from unnatural.generator.args import ArgParser, UsageError

PROG = "unnatural"
COMMAND_MODULES = ("unnatural.generator.cli", "unnatural.server.cli", "unnatural.distill.cli")
COMMANDS = "{render,shaders,serve,teacher,distill,kd-score,fit,impressions,study}"


def make_parser() -> ArgParser:
    """The root parser with every package's subcommands."""
    parser = ArgParser(prog=PROG, description="Render procedural 'unnatural' GLSL images into WebDataset shards "
                                              "for data-free knowledge distillation.")
    sub = parser.add_subparsers(dest="cmd", required=True, metavar=COMMANDS, parser_class=ArgParser)
    for name in COMMAND_MODULES:
        importlib.import_module(name).add_commands(sub)
    return parser


def main(argv: list[str] | None = None) -> int:
    """Entry point of the ``unnatural`` console script and ``python -m unnatural``; returns the
    exit code (0 ok, 1 a command's own failure, 2 bad usage, 3 no GL, 4 disk full (render),
    130 interrupted)."""
    try:
        args = make_parser().parse_args(argv)
        return args.func(args)
    except UsageError as exc:
        print(f"{PROG}: error: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print(f"{PROG}: interrupted", file=sys.stderr)
        return 130
    except Exception as exc:  # GL missing and the like: one clear line, not a traceback
        from unnatural.generator.context import GLUnavailableError

        if isinstance(exc, GLUnavailableError):
            print(f"{PROG}: error: {exc}", file=sys.stderr)
            return 3
        raise
