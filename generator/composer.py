"""Program composer: seeded random GLSL programs assembled from the building-block library.

Method: a random expression tree in the manner of K. Sims, "Artificial Evolution for Computer
Graphics" (SIGGRAPH 1991), over typed GLSL building blocks instead of pixel primitives, used
to extend a fixed shader collection the way Baradad et al. (NeurIPS 2022, docs/METHODS.md §3)
use hand-written Shadertoy programs. A composed program is

    centred coordinates -> transform chain (cx_*: affine, kaleidoscope, polar, warps, tiling ...)
      -> scalar tree of depth 1..3: fields (cf_*, each in [0, 1]) combined by unary shapers
         (cu_*), binary operators (cc_*) and masked selects (cs_*), leaves optionally with
         their own transform or a displacement by an earlier field (cx_displace, cx_vrotate)
      -> colour: palette (cp_*), optionally tinted (ck_*) or layered (cl_*) with a second tree
      -> 0..2 finishing steps (cg_*).

Every numeric argument is an ``iParams`` entry mapped into a seeded sub-range of the block's
declared range (a few are seeded constants), and angle/phase arguments also advance with
``iTime``, so one program yields unbounded distinct images; the seed fixes the structure.

Two budgets keep programs usable as 32x32 training data. Detail: each transform declares a
typical magnification ("zoom"); spatial-frequency arguments downstream are divided by the
accumulated zoom (loosely, with a floor), so chains such as tile -> swirl -> rings do not alias
into pixel noise. Cost: each block declares its measured shading cost, and a structure over
budget is redrawn (from the same random stream), keeping every program above ~10k images/s
on one llvmpipe core. Measured on a shared 2-core machine: 0.4-0.9 % degenerate images over
1500-seed x 8-draw runs, 11.7k-25k images/s per program at 32x32 on one core (mean ~16k).

The blocks live in ``shaders/blocks/*.glsl`` with a small annotation format (see
``base.glsl``); only the blocks a program calls (and their helpers) are copied into its body.
Random choices come from ``random.Random(seed)`` (Mersenne Twister with integer seeding,
stable across CPython versions and platforms), floats are printed with fixed precision, and
blocks are emitted in file order, so a seed gives byte-identical GLSL on every machine for a
given version of ``shaders/blocks`` (editing a block changes the programs that use it).
"""
from __future__ import annotations

import numbers
import random
import re
from dataclasses import dataclass
from functools import lru_cache
from importlib import resources

from .program import N_PARAMS, ProgramSource

MAX_SEED = 2**31 - 1
"""Largest valid seed; seeds are integers in ``0 .. MAX_SEED``."""

_FAMILY = "composed"

# Files in the order their blocks are emitted (helpers first, so "needs" resolve backwards).
_BLOCK_FILES = ("base.glsl", "transforms.glsl", "fields.glsl", "operators.glsl", "colour.glsl")

# Kind -> (return type, leading argument types); each @param adds one trailing float.
_SIGNATURES: dict[str, tuple[str, tuple[str, ...]]] = {
    "transform": ("vec2", ("vec2",)),
    "displace": ("vec2", ("vec2", "float")),
    "field": ("float", ("vec2",)),
    "unary": ("float", ("float",)),
    "binary": ("float", ("float", "float")),
    "select": ("float", ("float", "float", "float")),
    "palette": ("vec3", ("float", "vec4")),
    "tint": ("vec3", ("vec3", "float")),
    "layer": ("vec3", ("vec3", "vec3", "float")),
    "post": ("vec3", ("vec3", "vec2", "float")),
}

# Shading-cost ceiling of one program, in the blocks' cost unit: microseconds of one llvmpipe
# core (AVX2, 256-bit) per 32x32 image, measured per block against a trivial program. With
# the fixed per-image cost (~35 us: raster setup, readback, slicing) it keeps every composed
# program above 10k images/s at 32x32 on one core.
_COST_BUDGET = 36.0
_CALL_COST = 0.5  # glue per call: mapping iParams into each argument range
_MAX_ATTEMPTS = 200

_BLOCK_RE = re.compile(r"^//\s*@block\s+(\w+)\s+(\w+)((?:\s+\w+=[\w.,]+)*)\s*$")
_PARAM_RE = re.compile(r"^//\s*@param\s+(\w+)\s+(-?[\d.]+)\s+(-?[\d.]+)((?:\s+(?:time|freq))*)\s*$")
_SIG_RE = re.compile(r"^\s*(\w+)\s+(\w+)\s*\(([^)]*)\)", re.MULTILINE)


@dataclass(frozen=True)
class _Param:
    name: str
    lo: float
    hi: float
    timed: bool  # also advances with iTime (radians)
    freq: bool   # a spatial frequency: divided by the zoom of the coordinates it sees


@dataclass(frozen=True)
class _Block:
    name: str
    kind: str
    cost: float
    weight: float
    zoom: float  # transforms: typical factor by which they raise spatial frequency
    needs: tuple[str, ...]
    params: tuple[_Param, ...]
    source: str  # GLSL without comment lines
    order: int   # emission order


def _parse_file(text: str, filename: str, start: int) -> list[_Block]:
    """Split one block file into blocks; raises ``ValueError`` on malformed annotations."""
    blocks: list[_Block] = []
    header: tuple[str, str, dict[str, str]] | None = None
    params: list[_Param] = []
    code: list[str] = []

    def finish() -> None:
        if header is None:
            return
        name, kind, opts = header
        source = "\n".join(code).strip("\n") + "\n"
        if kind != "helper":
            ret, lead = _SIGNATURES[kind]
            sig = {m.group(2): m for m in _SIG_RE.finditer(source)}.get(name)
            if sig is None:
                raise ValueError(f"{filename}: block {name} defines no function {name}()")
            types = tuple(arg.split()[0] for arg in sig.group(3).split(",") if arg.strip())
            want = lead + ("float",) * len(params)
            if sig.group(1) != ret or types != want:
                raise ValueError(
                    f"{filename}: block {name} has signature {sig.group(1)} ({', '.join(types)}), "
                    f"expected {ret} ({', '.join(want)}) for kind {kind} with {len(params)} @param"
                )
        needs = tuple(n for n in opts.get("needs", "").split(",") if n)
        blocks.append(_Block(name, kind, float(opts.get("cost", 0)), float(opts.get("weight", 1)),
                             float(opts.get("zoom", 1)), needs, tuple(params), source,
                             start + len(blocks)))

    for line in text.splitlines():
        stripped = line.strip()
        match = _BLOCK_RE.match(stripped)
        if match:
            finish()
            name, kind = match.group(1), match.group(2)
            if kind != "helper" and kind not in _SIGNATURES:
                raise ValueError(f"{filename}: block {name} has unknown kind {kind!r}")
            opts = dict(opt.split("=", 1) for opt in match.group(3).split())
            header, params, code = (name, kind, opts), [], []
            continue
        if header is None:
            continue
        if stripped.startswith("//"):
            if stripped.startswith("// @param"):
                pmatch = _PARAM_RE.match(stripped)
                if pmatch is None:
                    raise ValueError(f"{filename}: malformed line {stripped!r}")
                flags = pmatch.group(4).split()
                params.append(_Param(pmatch.group(1), float(pmatch.group(2)), float(pmatch.group(3)),
                                     "time" in flags, "freq" in flags))
            elif stripped.startswith("// @"):
                raise ValueError(f"{filename}: unknown annotation {stripped!r}")
            continue  # plain comments are not copied into programs
        code.append(line.rstrip())
    finish()
    return blocks


@lru_cache(maxsize=1)
def _blocks() -> dict[str, _Block]:
    """All building blocks by name, parsed once from ``shaders/blocks``."""
    root = resources.files("unnatural.shaders").joinpath("blocks")
    table: dict[str, _Block] = {}
    for filename in _BLOCK_FILES:
        for block in _parse_file(root.joinpath(filename).read_text(), filename, len(table)):
            if block.name in table:
                raise ValueError(f"{filename}: duplicate block {block.name}")
            table[block.name] = block
    for block in table.values():
        for need in block.needs:
            if need not in table or table[need].order >= block.order:
                raise ValueError(f"block {block.name} needs {need!r}, which is not defined before it")
    return table


def _num(x: float) -> str:
    """Fixed-precision GLSL float literal (always with a decimal point, no ``-0.0``)."""
    text = f"{x:.4f}".rstrip("0")
    text = text + "0" if text.endswith(".") else text
    return "0.0" if text == "-0.0" else text


class _Builder:
    """One attempt at a program: emits glue lines and tracks used blocks, cost and slots."""

    def __init__(self, rng: random.Random):
        self.rng = rng
        self.blocks = _blocks()
        self.lines: list[str] = []
        self.used: set[str] = set()
        self.cost = 0.0
        self.slots = list(range(N_PARAMS))
        rng.shuffle(self.slots)
        self.n_slots = 0
        self.n_vars = 0
        self.scalars: list[str] = []
        self.zoom: dict[str, float] = {"uv": 1.0}  # coordinate variable -> accumulated zoom

    # -- helpers ---------------------------------------------------------------------------
    def pick(self, kind: str, exclude: tuple[str, ...] = ()) -> _Block:
        cands = [b for b in self.blocks.values() if b.kind == kind and b.name not in exclude]
        return self.rng.choices(cands, weights=[b.weight for b in cands])[0]

    def slot(self) -> str:
        """Next iParams entry; after all 16 are used, decorrelated remaps fract(k q + c)."""
        index = self.slots[self.n_slots % N_PARAMS]
        ref = f"iParams[{index // 4}].{'xyzw'[index % 4]}"
        self.n_slots += 1
        if self.n_slots <= N_PARAMS:
            return ref
        return f"fract({ref} * {self.rng.randint(2, 7)}.0 + {_num(self.rng.random())})"

    def arg(self, param: _Param, zoom: float) -> str:
        rng = self.rng
        low, high = param.lo, param.hi
        if param.freq and zoom > 1.0:
            # Keep features a few pixels wide at 32 px when earlier transforms magnify detail;
            # zooms compound loosely (exponent 0.75) and the range keeps a floor.
            shrink = zoom**0.75
            low, high = max(low / shrink, 0.5 * low), max(high / shrink, 0.5 * low + 0.5 * (high - low) / shrink)
        if rng.random() < 0.15:
            expr = _num(rng.uniform(low, high))
        else:
            width = (high - low) * rng.uniform(0.5, 1.0)
            lo = rng.uniform(low, high - width)
            ends = (lo, lo + width) if rng.random() < 0.5 else (lo + width, lo)
            expr = f"mix({_num(ends[0])}, {_num(ends[1])}, {self.slot()})"
        if param.timed and rng.random() < 0.8:
            speed = rng.uniform(-0.8, 0.8)
            if abs(speed) >= 0.05:
                sign = "-" if speed < 0 else "+"
                expr = f"{expr} {sign} {_num(abs(speed))} * iTime"
        return expr

    def use(self, name: str) -> None:
        if name in self.used:
            return
        block = self.blocks[name]
        self.used.add(name)
        for need in block.needs:
            self.use(need)

    def call(self, block: _Block, *lead: str) -> str:
        self.use(block.name)
        self.cost += block.cost + _CALL_COST
        zoom = self.zoom.get(lead[0], 1.0) if lead else 1.0
        return f"{block.name}({', '.join(list(lead) + [self.arg(p, zoom) for p in block.params])})"

    def transform(self, block: _Block, coords: str, *extra: str) -> str:
        """Emit ``vec2 pN = block(coords, ...)`` and record the new coordinates' zoom."""
        name = self.var("vec2", "p", self.call(block, coords, *extra))
        self.zoom[name] = self.zoom[coords] * block.zoom
        return name

    def var(self, gltype: str, prefix: str, expr: str) -> str:
        self.n_vars += 1
        name = f"{prefix}{self.n_vars}"
        self.lines.append(f"    {gltype} {name} = {expr};")
        return name

    # -- structure ---------------------------------------------------------------------------
    def leaf(self, coords: str) -> str:
        rng = self.rng
        if rng.random() < 0.4:
            block = self.pick("transform", exclude=("cx_noisewarp",) if rng.random() < 0.5 else ())
            coords = self.transform(block, coords)
        if self.scalars and rng.random() < 0.2:
            coords = self.transform(self.pick("displace"), coords, rng.choice(self.scalars))
        name = self.var("float", "s", self.call(self.pick("field"), coords))
        self.scalars.append(name)
        return name

    def scalar(self, depth: int, coords: str) -> str:
        rng = self.rng
        if depth <= 0 or rng.random() < 0.25:
            return self.leaf(coords)
        roll = rng.random()
        if roll < 0.55:
            a, b = self.scalar(depth - 1, coords), self.scalar(depth - 1, coords)
            expr = self.call(self.pick("binary"), a, b)
        elif roll < 0.8:
            expr = self.call(self.pick("unary"), self.scalar(depth - 1, coords))
        else:
            a, b = self.scalar(depth - 1, coords), self.scalar(depth - 1, coords)
            expr = self.call(self.pick("select"), a, b, self.leaf(coords))
        name = self.var("float", "s", expr)
        self.scalars.append(name)
        return name

    def palette_vec(self) -> str:
        row = self.rng.randrange(4)
        swizzle = self.rng.choice(("", ".yzwx", ".wzyx", ".zxwy"))
        return f"iParams[{row}]{swizzle}"

    def build(self) -> None:
        rng = self.rng
        self.lines.append("    vec2 uv = centered(fragCoord);")
        coords = "uv"
        chain: list[str] = []
        if rng.random() < 0.75:
            chain.append("cx_affine")
        for _ in range(rng.choice((0, 1, 1, 2, 2))):
            chain.append(self.pick("transform", exclude=tuple(chain) + ("cx_affine",)).name)
        for name in chain:
            coords = self.transform(self.blocks[name], coords)

        value = self.scalar(rng.choice((1, 2, 2, 3)), coords)
        colour = self.var("vec3", "c", self.call(self.pick("palette"), value, self.palette_vec()))
        mode = rng.random()
        if mode < 0.3:
            second = self.scalar(rng.choice((0, 0, 1)), coords)
            colour = self.var("vec3", "c", self.call(self.pick("tint"), colour, second))
        elif mode < 0.6:
            other = value if rng.random() < 0.3 else self.scalar(rng.choice((0, 1)), coords)
            top = self.var("vec3", "c", self.call(self.pick("palette"), other, self.palette_vec()))
            mask = self.leaf(coords)
            colour = self.var("vec3", "c", self.call(self.pick("layer"), colour, top, mask))
        posts: list[str] = []
        for _ in range(rng.choice((0, 1, 1, 2))):
            block = self.pick("post", exclude=tuple(posts))
            posts.append(block.name)
            colour = self.var("vec3", "c", self.call(block, colour, "uv", value))
        self.lines.append(f"    fragColor = vec4({colour}, 1.0);")

    def body(self, program_id: str) -> str:
        ordered = sorted((self.blocks[n] for n in self.used), key=lambda b: b.order)
        calls = [b.name for b in ordered if b.kind != "helper"]
        header = (f"// {program_id}: generated by the unnatural program composer from "
                  f"shaders/blocks ({', '.join(calls)}).\n")
        parts = [header] + [b.source + "\n" for b in ordered]
        parts.append("void mainImage(out vec4 fragColor, in vec2 fragCoord) {\n")
        parts.append("\n".join(self.lines) + "\n}\n")
        return "".join(parts)


def _check_seed(seed: object) -> int:
    if isinstance(seed, bool) or not isinstance(seed, numbers.Integral) or not 0 <= int(seed) <= MAX_SEED:
        raise ValueError(f"composer seed {seed!r} is invalid: allowed integers 0..{MAX_SEED}")
    return int(seed)


def compose(seed: int) -> ProgramSource:
    """Compose the program of one seed.

    Args:
        seed: integer in ``0 .. MAX_SEED`` (2**31 - 1); Python ints and numpy integers work.

    Returns:
        ``ProgramSource(program_id=f"composed-{seed:08d}", family="composed", body=..., library=True)``.
        The body is GLSL defining the used blocks and
        ``void mainImage(out vec4 fragColor, in vec2 fragCoord)`` (Shadertoy convention). It
        reads ``iResolution`` (pixels), ``iTime`` (seconds; phases move by up to 0.8 rad/s) and
        ``iParams[4]`` (16 floats in [0, 1) per image: scales, angles, warp amounts, colour
        schemes), and writes finite RGB in [0, 1]. The same seed gives byte-identical GLSL on
        every machine and Python >= 3.10.

    Raises:
        ValueError: ``seed`` is not an integer in ``0 .. MAX_SEED`` (the message names both).

    Method: random typed expression trees over GLSL blocks (Sims, SIGGRAPH 1991), within a
    per-program shading-cost budget; see the module docstring.
    """
    seed = _check_seed(seed)
    rng = random.Random(seed)
    builder = None
    for _ in range(_MAX_ATTEMPTS):
        candidate = _Builder(rng)
        candidate.build()
        if candidate.cost <= _COST_BUDGET:
            builder = candidate
            break
    if builder is None:  # pragma: no cover - about half of all structures fit the budget
        raise RuntimeError(f"composer found no program within budget for seed {seed}")
    program_id = f"composed-{seed:08d}"
    return ProgramSource(program_id=program_id, family=_FAMILY, body=builder.body(program_id), library=True)


def block_counts() -> dict[str, int]:
    """Number of building blocks of each kind (``transform``, ``field``, ``binary`` ...)."""
    counts: dict[str, int] = {}
    for block in _blocks().values():
        counts[block.kind] = counts.get(block.kind, 0) + 1
    return counts
