"""The ``unnatural`` command line: ``render`` (the main job), ``shaders list|check|preview`` and
``serve`` (the HTTP server, :mod:`server.app`).

Bad usage exits with code 2 and one line naming the bad value and the allowed range.
"""
from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

from .renderer import MAX_SIZE, MIN_SIZE
from .spec import COMPOSED, FORMATS, USER, DatasetSpec, SpecError

PROG = "unnatural"


class UsageError(Exception):
    """Bad command-line input: printed as one line, exit code 2."""


class _Parser(argparse.ArgumentParser):
    def error(self, message: str) -> None:  # one line, not argparse's usage dump
        raise UsageError(f"{message} (see `{self.prog} --help`)")


def _positive_int(name: str, low: int, high: int):
    def parse(text: str) -> int:
        try:
            value = int(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"{name} {text!r} is not an integer: allowed {low}..{high}") from None
        if not low <= value <= high:
            raise argparse.ArgumentTypeError(f"{name} {value} out of range: allowed {low}..{high}")
        return value
    return parse


def _positive_float(name: str):
    def parse(text: str) -> float:
        try:
            value = float(text)
        except ValueError:
            value = float("nan")
        if not (0 < value < float("inf")):
            raise argparse.ArgumentTypeError(f"{name} {text!r} is invalid: allowed numbers > 0")
        return value
    return parse


def _size(text: str) -> tuple[int, int]:
    """``S`` or ``WxH`` in pixels."""
    parts = text.lower().split("x")
    try:
        w, h = (int(parts[0]), int(parts[0])) if len(parts) == 1 else (int(parts[0]), int(parts[1]))
        if len(parts) > 2:
            raise ValueError
    except ValueError:
        raise argparse.ArgumentTypeError(f"size {text!r} is not S or WxH: allowed {MIN_SIZE}..{MAX_SIZE} pixels") from None
    for v in (w, h):
        if not MIN_SIZE <= v <= MAX_SIZE:
            raise argparse.ArgumentTypeError(f"size {text!r} out of range: allowed {MIN_SIZE}..{MAX_SIZE} pixels per side")
    return w, h


def _families(text: str) -> list[str]:
    from shaders import family_names

    if text == "all":
        return list(family_names())
    if text == "none":
        return []
    names = [t.strip() for t in text.split(",") if t.strip()]
    for name in names:
        if name not in family_names():
            raise argparse.ArgumentTypeError(
                f"family {name!r} is unknown: allowed all, none or a comma list of {', '.join(family_names())}")
    return names


def _weight(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        value = -1.0
    if not (value >= 0 and value < float("inf")):
        raise argparse.ArgumentTypeError(f"weight {text!r} is invalid: allowed numbers >= 0")
    return value


def _part(text: str) -> tuple[int, int]:
    """``I/N``: part I (0-based) of N; N <= the spec's shards is checked once the spec is known."""
    try:
        index, count = (int(v) for v in text.split("/"))
    except ValueError:
        raise argparse.ArgumentTypeError(f"--part {text!r} is not I/N: allowed integers 0 <= I < N") from None
    if count < 1 or not 0 <= index < count:
        raise argparse.ArgumentTypeError(f"--part {text!r} out of range: allowed 0 <= I < N, N >= 1")
    return index, count


def _add_render(sub) -> None:
    p = sub.add_parser(
        "render", help="render a dataset spec into WebDataset shards",
        description="Render a dataset spec into WebDataset shards ({name}-{k:06d}.tar) plus manifest.json. "
                    "Flags override the fields of --spec; unspecified fields keep the spec's (or the default) "
                    "values. Sample i is a pure function of (spec, i), so reruns and --resume reproduce "
                    "identical shard bytes on the same renderer.")
    p.add_argument("--out", required=True, type=Path, help="output folder (created if missing)")
    p.add_argument("--spec", type=Path, help="dataset spec file (.json or .yaml, fields as in the README section 'Dataset specs')")
    p.add_argument("--images", type=_positive_int("--images", 1, 10**10), help="number of images (default 10000)")
    p.add_argument("--size", type=_size, help=f"image size in pixels, S or WxH, {MIN_SIZE}..{MAX_SIZE} (default 32)")
    p.add_argument("--format", choices=FORMATS, help="png (lossless, default) | jpg | webp | npy (raw uint8, fastest)")
    p.add_argument("--quality", type=_positive_int("--quality", 1, 100), help="jpg/webp quality 1..100 (default 90)")
    p.add_argument("--seed", type=_positive_int("--seed", 0, 2**63 - 1), help="dataset seed (default 0)")
    p.add_argument("--images-per-shard", type=_positive_int("--images-per-shard", 1, 10**6),
                   help="samples per shard (default 1000)")
    p.add_argument("--name", help="shard name prefix (default 'unnatural')")
    p.add_argument("--families", type=_families,
                   help="hand-written families: all (default), none, or a comma list (see `unnatural shaders list`)")
    p.add_argument("--composed-programs", type=_positive_int("--composed-programs", 0, 10**6),
                   help="size of the composed-program pool (default 64; each worker compiles every program once)")
    p.add_argument("--composed-weight", type=_weight,
                   help="total weight of composed programs, where each family weighs 1 (default: the number of "
                        "families, i.e. half the images; 0 disables)")
    p.add_argument("--user-dir", type=Path, help="folder of Shadertoy-style *.glsl/*.frag shaders to mix in")
    p.add_argument("--user-weight", type=_weight, help="total weight of the user shaders (default: as --composed-weight)")
    p.add_argument("--time-range", help="iTime range in seconds, MIN,MAX (default 0.1,10)")
    p.add_argument("--workers", type=_positive_int("--workers", 1, 1024),
                   help="render processes, or Ray actors with --ray (default: one per NVIDIA GPU, else one per "
                        "CPU core, of the Ray cluster with --ray)")
    p.add_argument("--resume", action="store_true",
                   help="keep shards whose sha256 matches manifest.json or a part manifest, render the rest")
    p.add_argument("--part", type=_part, metavar="I/N",
                   help="render only part I (0-based) of N contiguous, near-equal ranges of shards, e.g. "
                        "$JOB_COMPLETION_INDEX/N in a Kubernetes Indexed Job; writes "
                        "manifest-part-I-of-N.json, not manifest.json, so parts can share --out. Once every "
                        "part is done, `render --resume` without --part checks them and writes manifest.json")
    p.add_argument("--ray", nargs="?", const="", metavar="ADDRESS",
                   help="render on Ray actors, one per GPU (else one per CPU; --workers caps them): without "
                        "ADDRESS start or join a local Ray instance (or $RAY_ADDRESS), else ray.init(ADDRESS), "
                        "e.g. auto or ray://HOST:10001. Needs pip install 'unnatural[ray]'")
    p.add_argument("--no-progress", action="store_true", help="no progress bar")
    p.set_defaults(func=_cmd_render)


def build_spec(args: argparse.Namespace) -> DatasetSpec:
    """The spec of a ``render`` invocation: --spec file (or defaults) overridden by flags."""
    from shaders import family_names

    data = DatasetSpec.load(args.spec).to_dict() if args.spec else {}
    for flag, key in (("images", "images"), ("format", "format"), ("quality", "quality"), ("seed", "seed"),
                      ("images_per_shard", "images_per_shard"), ("name", "name"),
                      ("composed_programs", "composed_programs")):
        if getattr(args, flag) is not None:
            data[key] = getattr(args, flag)
    if args.size is not None:
        data["width"], data["height"] = args.size
    if args.time_range is not None:
        try:
            lo, hi = (float(v) for v in args.time_range.split(","))
        except ValueError:
            raise UsageError(f"--time-range {args.time_range!r} is not MIN,MAX: allowed 0 <= MIN <= MAX <= 10000 seconds") from None
        data["time_min"], data["time_max"] = lo, hi
    if args.user_dir is not None:
        data["user_dir"] = str(args.user_dir)
    if any(v is not None for v in (args.families, args.composed_weight, args.user_weight, args.user_dir)):
        families = args.families if args.families is not None else list(family_names())
        mix = {name: 1.0 for name in families}
        composed = args.composed_weight if args.composed_weight is not None else float(max(1, len(families)))
        if composed > 0:
            mix[COMPOSED] = composed
        if data.get("user_dir"):
            mix[USER] = args.user_weight if args.user_weight is not None else float(max(1, len(families)))
        data["mix"] = mix
    return DatasetSpec.from_dict(data)


def _cmd_render(args: argparse.Namespace) -> int:
    from .job import JobError, part_shards, render_dataset
    from .sampling import ProgramTable

    if args.ray is not None and args.part is not None:
        raise UsageError("--ray and --part cannot be combined: --ray renders every shard over a Ray cluster, "
                         "--part one range of them on this machine")
    if args.user_dir is not None and not args.user_dir.is_dir():
        raise UsageError(f"--user-dir {str(args.user_dir)!r} is not a directory")
    if args.ray is not None:
        from .ray_launcher import render_dataset_ray, require_ray

        try:
            require_ray()
        except JobError as exc:
            raise UsageError(str(exc)) from None
    try:
        spec = build_spec(args)
        table = ProgramTable(spec)
    except (SpecError, OSError, ValueError) as exc:
        raise UsageError(str(exc)) from None
    if args.part is not None:
        try:
            part_shards(spec.num_shards, args.part)
        except ValueError:
            raise UsageError(f"--part {args.part[0]}/{args.part[1]} out of range: the spec has {spec.num_shards} "
                             f"shards, allowed N 1..{spec.num_shards}") from None
    start = time.perf_counter()
    try:
        if args.ray is not None:
            manifest = render_dataset_ray(spec, args.out, address=args.ray or None, workers=args.workers,
                                          resume=args.resume, progress=not args.no_progress, table=table)
        else:
            manifest = render_dataset(spec, args.out, workers=args.workers, resume=args.resume,
                                      progress=not args.no_progress, table=table, part=args.part)
    except JobError as exc:
        raise UsageError(str(exc)) from None
    wall = time.perf_counter() - start
    rejected = sum(manifest["rejected"].values())
    part = f"part {args.part[0]}/{args.part[1]}: " if args.part is not None else ""
    print(f"{part}{manifest['samples']} images in {len(manifest['shards'])} shards -> {args.out} "
          f"({wall:.1f} s, {rejected} filtered and replaced, spec {manifest['spec_hash']})")
    return 0


def _add_shaders(sub) -> None:
    p = sub.add_parser("shaders", help="the shader library: list, check, preview",
                       description="Inspect the shader library and user shader folders.")
    ssub = p.add_subparsers(dest="shaders_cmd", required=True, metavar="{list,check,preview}")
    lp = ssub.add_parser("list", help="the catalogue of hand-written families",
                         description="Print the families (class index, name, summary, parameters).")
    lp.add_argument("--json", action="store_true", help="print JSON instead of a table")
    lp.set_defaults(func=_cmd_list)
    cp = ssub.add_parser("check", help="compile-and-render validation report",
                         description="Compile and probe-render shaders; report ok or the reason for rejection. "
                                     "Without DIR: every library family plus --composed composed programs. "
                                     "Exit code 1 when any shader is rejected.")
    cp.add_argument("dir", nargs="?", type=Path, help="folder of Shadertoy-style *.glsl/*.frag files")
    cp.add_argument("--composed", type=_positive_int("--composed", 0, 100000), default=32,
                    help="composed programs to check when no DIR is given (default 32)")
    cp.add_argument("--json", action="store_true", help="print JSON instead of a table")
    cp.set_defaults(func=_cmd_check)
    pp = ssub.add_parser("preview", help="contact-sheet PNG of samples per family",
                         description="Write a contact sheet: one row per program, --columns draws each.")
    pp.add_argument("dir", nargs="?", type=Path, help="preview this user shader folder instead of the library")
    pp.add_argument("--out", type=Path, default=Path("contact_sheet.png"), help="PNG path (default contact_sheet.png)")
    pp.add_argument("--families", type=_families, default=None, help="all (default), none, or a comma list")
    pp.add_argument("--composed", type=_positive_int("--composed", 0, 1000), default=8,
                    help="composed programs to add as rows (default 8)")
    pp.add_argument("--size", type=_positive_int("--size", MIN_SIZE, 512), default=64, help="tile size (default 64)")
    pp.add_argument("--columns", type=_positive_int("--columns", 1, 64), default=8, help="draws per row (default 8)")
    pp.add_argument("--seed", type=_positive_int("--seed", 0, 2**63 - 1), default=0, help="draw seed (default 0)")
    pp.set_defaults(func=_cmd_preview)


def _user_folder(folder: Path, renderer):
    """Validate a user shader folder, or a usage error when it is not a directory."""
    from .user_shaders import load_user_folder

    if not folder.is_dir():
        raise UsageError(f"shader folder {str(folder)!r} is not a directory")
    return load_user_folder(folder, renderer)


def _cmd_list(args: argparse.Namespace) -> int:
    from shaders import family_info, family_names

    infos = [family_info(n) for n in family_names()]
    if args.json:
        print(json.dumps([{"cls": i, **vars(info)} for i, info in enumerate(infos)], indent=1))
        return 0
    width = max(len(i.name) for i in infos)
    for index, info in enumerate(infos):
        print(f"{index:3d}  {info.name:<{width}}  {info.summary}\n     {'':<{width}}  params: {info.params}")
    print(f"\n{len(infos)} hand-written families; composed programs: unbounded ('{COMPOSED}', seeded)")
    return 0


def _cmd_check(args: argparse.Namespace) -> int:
    from .preview import library_programs
    from .renderer import Renderer
    from .user_shaders import ShaderReport, validate_program

    renderer = Renderer()
    if args.dir is not None:
        reports = _user_folder(args.dir, renderer).reports
    else:
        reports = []
        for program in library_programs(None, args.composed):
            reason, ms = validate_program(program, renderer)
            reports.append(ShaderReport(program.program_id, program.program_id,
                                        "rejected" if reason else "ok", reason, ms))
    if args.json:
        print(json.dumps([vars(r) for r in reports], indent=1))
    else:
        for r in reports:
            ms = f"{r.ms_per_image:6.2f} ms/img" if r.ms_per_image is not None else " " * 13
            print(f"{r.status:<8} {ms}  {r.program_id}" + (f": {r.reason}" if r.reason else ""))
        rejected = sum(r.status != "ok" for r in reports)
        print(f"\n{len(reports) - rejected} ok, {rejected} rejected (probe: 8 images at 64x64)")
    return 1 if any(r.status != "ok" for r in reports) else 0


def _cmd_preview(args: argparse.Namespace) -> int:
    from .files import atomic_write
    from .preview import contact_sheet, library_programs, png_bytes
    from .renderer import Renderer

    renderer = Renderer()
    if args.dir is not None:
        programs = _user_folder(args.dir, renderer).accepted
    else:
        programs = library_programs(args.families, args.composed)
    if not programs:
        raise UsageError("nothing to preview: no family, composed program or accepted user shader selected")
    if args.out.parent and not args.out.parent.is_dir():
        raise UsageError(f"--out folder {str(args.out.parent)!r} does not exist")
    sheet = contact_sheet(programs, renderer, size=args.size, columns=args.columns, seed=args.seed)
    atomic_write(args.out, png_bytes(sheet))
    print(f"contact sheet: {args.out} ({len(programs)} rows x {args.columns} draws, {sheet.width}x{sheet.height} px)")
    return 0


def _add_serve(sub) -> None:
    p = sub.add_parser(
        "serve", help="serve virtual shards and endless streams over HTTP",
        description="Serve datasets over HTTP (FastAPI on uvicorn): GET /datasets/NAME/NAME-{k:06d}.tar renders "
                    "shard k on demand (the same bytes `unnatural render` writes), GET /stream?seed=&size=&format="
                    "&families=&start= streams an endless tar, GET / is a gallery, /healthz /readyz /metrics are "
                    "for operations. Settings also come from UNNATURAL_* variables (see README).")
    p.add_argument("--host", default="127.0.0.1", help="bind address (default 127.0.0.1; 0.0.0.0 for all)")
    p.add_argument("--port", type=_positive_int("--port", 1, 65535), default=8000, help="TCP port (default 8000)")
    p.add_argument("--workers", type=_positive_int("--workers", 1, 256), default=None,
                   help="render processes, one EGL context each (default: one per GPU, else one per CPU core)")
    p.add_argument("--config", type=Path, default=None,
                   help="YAML/JSON file of dataset specs to register at start: 'datasets: [spec, ...]'")
    p.add_argument("--token-file", type=Path, default=None,
                   help="file whose first line is the bearer token required on every endpoint but /healthz "
                        "and /readyz (default: $UNNATURAL_TOKEN if set, else no auth)")
    p.add_argument("--max-size", type=_positive_int("--max-size", MIN_SIZE, MAX_SIZE), default=512,
                   help="largest image side a request may ask for, in pixels (default 512)")
    p.add_argument("--max-images-per-shard", type=_positive_int("--max-images-per-shard", 1, 1_000_000),
                   default=10_000, help="largest images_per_shard of a spec (default 10000)")
    p.add_argument("--max-streams", type=_positive_int("--max-streams", 1, 10_000), default=32,
                   help="concurrent shard/stream responses; more get 429 + Retry-After (default 32)")
    p.add_argument("--render-timeout", type=_positive_int("--render-timeout", 1, 86_400), default=120,
                   help="seconds one render job may take before the watchdog restarts its process (default 120)")
    p.add_argument("--log-level", choices=("critical", "error", "warning", "info", "debug"), default="info",
                   help="log level (access logs at info)")
    p.set_defaults(func=_cmd_serve)


def _cmd_serve(args: argparse.Namespace) -> int:
    try:
        from server.app import serve
        from server.settings import ServerSettings, SettingsError, load_token
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


def make_parser() -> argparse.ArgumentParser:
    parser = _Parser(prog=PROG, description="Render procedural 'unnatural' GLSL images into WebDataset shards "
                                            "for data-free knowledge distillation.")
    sub = parser.add_subparsers(dest="cmd", required=True, metavar="{render,shaders,serve,teacher,distill,kd-score}",
                                parser_class=_Parser)
    _add_render(sub)
    _add_shaders(sub)
    _add_serve(sub)
    from distill.cli import add_commands  # no torch import until a distill command runs

    add_commands(sub, _positive_int, _positive_float)
    return parser


def main(argv: list[str] | None = None) -> int:
    """Entry point of the ``unnatural`` console script; returns the exit code."""
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
        from .context import GLUnavailableError

        if isinstance(exc, GLUnavailableError):
            print(f"{PROG}: error: {exc}", file=sys.stderr)
            return 3
        raise


if __name__ == "__main__":
    # Run the imported module's main, not this __main__ copy: commands in other packages
    # raise generator.cli.UsageError, which must be the class main() catches.
    from generator.cli import main as _main

    sys.exit(_main())
