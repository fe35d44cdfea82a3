"""The generator's commands: ``render`` (the main job) and ``shaders list|check|preview``,
added to the root command by :mod:`unnatural.cli`.

Bad usage raises :class:`~unnatural.generator.args.UsageError`: one line naming the bad value
and the allowed range, exit code 2.
"""
from __future__ import annotations

import argparse
import errno
import json
import math
import shutil
import sys
import time
from pathlib import Path

from .args import UsageError, arg_type, int_arg, parse_families, parse_size, parse_weight
from .render_process import PROBE_TIMEOUT_S, TASK_TIMEOUT_S
from .spec import COMPOSED, FORMATS, MAX_SIZE, MIN_SIZE, USER, DatasetSpec, SpecError


def _part(text: str) -> tuple[int, int]:
    """``I/N``: part I (0-based) of N; N <= the spec's shards is checked once the spec is known."""
    try:
        index, count = (int(v) for v in text.split("/"))
    except ValueError:
        raise argparse.ArgumentTypeError(f"--part {text!r} is not I/N: allowed integers 0 <= I < N") from None
    if count < 1 or not 0 <= index < count:
        raise argparse.ArgumentTypeError(f"--part {text!r} out of range: allowed 0 <= I < N, N >= 1")
    return index, count


def _seconds(flag: str):
    """An argparse type: a time limit in seconds, 0.1 .. 86400 (a day), as the server's render_timeout."""
    def parse(text: str) -> float:
        try:
            value = float(text)
        except ValueError:
            value = math.nan
        if not 0.1 <= value <= 86_400:
            raise argparse.ArgumentTypeError(f"{flag} {text!r} out of range: allowed 0.1..86400 seconds")
        return value
    return parse


# `render` exit code for a full disk (or quota): a condition to fix on the machine, not bad usage
# (2) or a bug (1). Finished shards stay valid, so `render --resume` continues once space is freed.
EXIT_DISK_FULL = 4


def _add_render(sub) -> None:
    p = sub.add_parser(
        "render", help="render a dataset spec into WebDataset shards",
        description="Render a dataset spec into WebDataset shards ({name}-{k:06d}.tar) plus manifest.json. "
                    "Flags override the fields of --spec; unspecified fields keep the spec's (or the default) "
                    "values. Sample i is a pure function of (spec, i), so reruns and --resume reproduce "
                    f"identical shard bytes on the same renderer. A full disk exits with code {EXIT_DISK_FULL} "
                    "and one line naming the folder and its free space; finished shards are kept for --resume.")
    p.add_argument("--out", required=True, type=Path, help="output folder (created if missing)")
    p.add_argument("--spec", type=Path, help="dataset spec file (.json or .yaml, fields as in the README section 'Dataset specs')")
    p.add_argument("--images", type=int_arg("--images", 1, 10**10), help="number of images (default 10000)")
    p.add_argument("--size", type=arg_type(parse_size), help=f"image size in pixels, S or WxH, {MIN_SIZE}..{MAX_SIZE} (default 32)")
    p.add_argument("--format", choices=FORMATS, help="png (lossless, default) | jpg | webp | npy (raw uint8, fastest)")
    p.add_argument("--quality", type=int_arg("--quality", 1, 100), help="jpg/webp quality 1..100 (default 90)")
    p.add_argument("--seed", type=int_arg("--seed", 0, 2**63 - 1), help="dataset seed (default 0)")
    p.add_argument("--images-per-shard", type=int_arg("--images-per-shard", 1, 10**6),
                   help="samples per shard (default 1000)")
    p.add_argument("--name", help="shard name prefix (default 'unnatural')")
    p.add_argument("--families", type=arg_type(parse_families),
                   help="hand-written families: all (default), none, or a comma list (see `unnatural shaders list`)")
    p.add_argument("--composed-programs", type=int_arg("--composed-programs", 0, 10**6),
                   help="size of the composed-program pool (default 64; each worker compiles every program once)")
    p.add_argument("--composed-weight", type=arg_type(parse_weight, "weight"),
                   help="total weight of composed programs, where each family weighs 1 (default: the number of "
                        "families, i.e. half the images; 0 disables)")
    p.add_argument("--user-dir", type=Path, help="folder of Shadertoy-style *.glsl/*.frag shaders to mix in")
    p.add_argument("--user-weight", type=arg_type(parse_weight, "weight"), help="total weight of the user shaders (default: as --composed-weight)")
    p.add_argument("--time-range", help="iTime range in seconds, MIN,MAX (default 0.1,10)")
    p.add_argument("--workers", type=int_arg("--workers", 1, 1024),
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
    p.add_argument("--probe-timeout", type=_seconds("--probe-timeout"), default=PROBE_TIMEOUT_S, metavar="S",
                   help="watchdog limit of each --user-dir shader's probe render, seconds (default "
                        f"{PROBE_TIMEOUT_S:g}): past it the render process is killed and restarted and the shader "
                        "is rejected; rejected shaders are printed and listed in the manifest (user_rejected)")
    p.add_argument("--task-timeout", type=_seconds("--task-timeout"), default=TASK_TIMEOUT_S, metavar="S",
                   help=f"watchdog limit of one task of shards, seconds (default {TASK_TIMEOUT_S:g}; not with --ray): "
                        "past it the render processes are restarted and the task rerun; a second time ends the "
                        "job (finished shards are kept for --resume)")
    p.add_argument("--no-progress", action="store_true", help="no progress bar")
    p.set_defaults(func=_cmd_render)


def build_spec(args: argparse.Namespace) -> DatasetSpec:
    """The spec of a ``render`` invocation: --spec file (or defaults) overridden by flags."""
    from unnatural.shaders import family_names

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
        if spec.user_dir:   # probing takes a while: say so, the job prints nothing until it starts
            print(f"probing the user shaders of {spec.user_dir} (limit {args.probe_timeout:g} s each)", file=sys.stderr)
        table = ProgramTable(spec, probe_timeout=args.probe_timeout)
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
                                      progress=not args.no_progress, table=table, part=args.part,
                                      task_timeout=args.task_timeout)
    except JobError as exc:
        raise UsageError(str(exc)) from None
    except OSError as exc:
        if exc.errno not in (errno.ENOSPC, errno.EDQUOT):
            raise
        print(f"unnatural: error: no space left for {args.out} ({_free_space(args.out)} free now): finished "
              "shards are kept, free space and rerun with --resume", file=sys.stderr)
        return EXIT_DISK_FULL
    wall = time.perf_counter() - start
    rejected = sum(manifest["rejected"].values())
    part = f"part {args.part[0]}/{args.part[1]}: " if args.part is not None else ""
    print(f"{part}{manifest['samples']} images in {len(manifest['shards'])} shards -> {args.out} "
          f"({wall:.1f} s, {rejected} filtered and replaced, spec {manifest['spec_hash']})")
    if manifest["user_rejected"]:
        print(f"{len(manifest['user_rejected'])} user shaders rejected (not in the dataset): "
              + "; ".join(f"{pid}: {reason}" for pid, reason in manifest["user_rejected"].items()))
    return 0


def _free_space(folder: Path) -> str:
    """Free space of the file system holding ``folder`` (or its nearest existing parent), e.g. ``"12.0 KiB"``."""
    existing = next(p for p in (folder.absolute(), *folder.absolute().parents) if p.exists())
    free = shutil.disk_usage(existing).free
    power = min(int(math.log(free, 1024)), 4) if free >= 1024 else 0
    return f"{free / 1024 ** power:.1f} {('B', 'KiB', 'MiB', 'GiB', 'TiB')[power]}"


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
    cp.add_argument("--composed", type=int_arg("--composed", 0, 100000), default=32,
                    help="composed programs to check when no DIR is given (default 32)")
    cp.add_argument("--json", action="store_true", help="print JSON instead of a table")
    cp.set_defaults(func=_cmd_check)
    pp = ssub.add_parser("preview", help="contact-sheet PNG of samples per family",
                         description="Write a contact sheet: one row per program, --columns draws each.")
    pp.add_argument("dir", nargs="?", type=Path, help="preview this user shader folder instead of the library")
    pp.add_argument("--out", type=Path, default=Path("contact_sheet.png"), help="PNG path (default contact_sheet.png)")
    pp.add_argument("--families", type=arg_type(parse_families), default=None, help="all (default), none, or a comma list")
    pp.add_argument("--composed", type=int_arg("--composed", 0, 1000), default=8,
                    help="composed programs to add as rows (default 8)")
    pp.add_argument("--size", type=int_arg("--size", MIN_SIZE, 512), default=64, help="tile size (default 64)")
    pp.add_argument("--columns", type=int_arg("--columns", 1, 64), default=8, help="draws per row (default 8)")
    pp.add_argument("--seed", type=int_arg("--seed", 0, 2**63 - 1), default=0, help="draw seed (default 0)")
    pp.set_defaults(func=_cmd_preview)


def _user_folder(folder: Path):
    """Validate a user shader folder, each probe limited to :data:`PROBE_TIMEOUT_S`, or a usage
    error when it is not a directory."""
    from .user_shaders import load_user_folder

    if not folder.is_dir():
        raise UsageError(f"shader folder {str(folder)!r} is not a directory")
    return load_user_folder(folder, timeout=PROBE_TIMEOUT_S)


def _cmd_list(args: argparse.Namespace) -> int:
    from unnatural.shaders import family_info, family_names

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

    if args.dir is not None:
        reports = _user_folder(args.dir).reports
    else:
        renderer = Renderer()
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
        programs = _user_folder(args.dir).accepted
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


def add_commands(sub) -> None:
    """Add ``render`` and ``shaders`` to the root command's subparsers (see :mod:`unnatural.cli`)."""
    _add_render(sub)
    _add_shaders(sub)
