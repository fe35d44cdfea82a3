"""Reporting for the experiments and studies: paired significance tests, Markdown tables, plots,
and sections of ``docs/RESULTS.md`` that reruns replace in place."""
from __future__ import annotations

import math
from pathlib import Path

import numpy as np

from unnatural.generator.files import atomic_write, save_figure


def paired_ttest(treatment, baseline) -> tuple[float, float]:
    """One-sided paired t-test that ``treatment`` > ``baseline`` (Davis & Frank 2022 §5: "p <= 0.05
    by a one-sided paired t-test across seeds").

    Args:
        treatment, baseline: equal-length sequences of a score per seed (same seed order).

    Returns:
        ``(t, p)`` from :func:`scipy.stats.ttest_rel` with ``alternative="greater"``; ``(nan, nan)``
        with fewer than 2 pairs or when every difference is the same (no variance).

    Raises:
        ValueError: the sequences differ in length.
    """
    from scipy import stats

    a, b = np.asarray(treatment, dtype=float), np.asarray(baseline, dtype=float)
    if a.shape != b.shape:
        raise ValueError(f"paired samples differ in length: {a.shape} vs {b.shape}")
    d = a - b
    if len(d) < 2 or np.all(d == d[0]):
        return math.nan, math.nan
    result = stats.ttest_rel(a, b, alternative="greater")
    return float(result.statistic), float(result.pvalue)


def compare_to_baseline(scores: dict[str, dict[int, float]], baseline: str = "baseline") -> list[dict]:
    """Per-variant summary against ``baseline`` over the seeds both have.

    Args:
        scores: ``{variant: {seed: score}}`` (e.g. test accuracy in [0, 1]).

    Returns:
        One row per variant (input order): ``variant``, ``n``, ``mean``, ``std`` (sample std,
        ddof 1), ``delta`` (mean paired difference to the baseline), ``t``, ``p`` (one-sided, variant
        > baseline; nan for the baseline itself), ``wins`` (seeds where the variant beats the
        baseline), ``scores`` (in seed order).
    """
    base = scores.get(baseline, {})
    rows = []
    for name, by_seed in scores.items():
        seeds = sorted(by_seed)
        values = np.array([by_seed[s] for s in seeds], dtype=float)
        paired = [s for s in seeds if s in base]
        a = np.array([by_seed[s] for s in paired], dtype=float)
        b = np.array([base[s] for s in paired], dtype=float)
        t, p = paired_ttest(a, b) if name != baseline else (math.nan, math.nan)
        rows.append({"variant": name, "n": len(values), "mean": float(values.mean()) if len(values) else math.nan,
                     "std": float(values.std(ddof=1)) if len(values) > 1 else math.nan,
                     "delta": float((a - b).mean()) if len(paired) and name != baseline else math.nan,
                     "t": t, "p": p, "wins": int((a > b).sum()) if name != baseline else 0,
                     "paired": len(paired), "scores": values.tolist()})
    return rows


def _fmt(x: float, spec: str) -> str:
    return "–" if x is None or (isinstance(x, float) and math.isnan(x)) else format(x, spec)


def markdown_table(header: list[str], rows: list[list], align: str | None = None) -> str:
    """A GitHub Markdown table; ``align`` is one of ``l``/``r`` per column (default: first left)."""
    align = align or "l" + "r" * (len(header) - 1)
    lines = ["| " + " | ".join(header) + " |", "|" + "|".join("---" if a == "l" else "---:" for a in align) + "|"]
    lines += ["| " + " | ".join(str(c) for c in row) + " |" for row in rows]
    return "\n".join(lines)


def comparison_table(rows: list[dict], percent: bool = True) -> str:
    """:func:`compare_to_baseline` rows as Markdown: mean ± std, paired delta, one-sided p, wins."""
    k = 100.0 if percent else 1.0
    unit = " %" if percent else ""
    body = [[r["variant"], r["n"], f"{_fmt(k * r['mean'], '.2f')} ± {_fmt(k * r['std'], '.2f')}",
             _fmt(k * r["delta"], "+.2f"), _fmt(r["p"], ".3g"),
             f"{r['wins']}/{r['paired']}" if r["p"] == r["p"] else "–"] for r in rows]
    return markdown_table(["variant", "seeds", f"test acc{unit} (mean ± std)", f"Δ vs baseline{unit}",
                           "p (one-sided paired t)", "better seeds"], body)


def box_strip_plot(scores: dict[str, list[float]], path: str | Path, ylabel: str, title: str = "",
                   percent: bool = True) -> None:
    """Box plot per group with every point drawn on top (jittered strip), saved as PNG."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    k = 100.0 if percent else 1.0
    names = list(scores)
    fig, ax = plt.subplots(figsize=(1.3 * len(names) + 2.2, 4), dpi=110)
    data = [np.asarray(scores[n], dtype=float) * k for n in names]
    ax.boxplot(data, showfliers=False, widths=0.55)
    jitter = np.random.default_rng(0)
    for i, values in enumerate(data, start=1):
        ax.scatter(i + jitter.uniform(-0.12, 0.12, len(values)), values, s=14, alpha=0.75, zorder=3)
    ax.set_xticks(range(1, len(names) + 1), names)
    ax.set_ylabel(ylabel)
    ax.set_title(title, fontsize=9)
    ax.grid(axis="y", alpha=0.3)
    fig.tight_layout()
    save_figure(fig, path)


def replace_section(doc: str | Path, key: str, section: str,
                    preamble: str = "# Results\n\nExperiments run with this repository; numbers as they came.\n") -> None:
    """Put ``section`` between ``<!-- key:begin -->`` and ``<!-- key:end -->`` in ``doc`` (atomic
    rewrite): replaced if the markers exist, appended otherwise; a missing file starts with
    ``preamble``. Runs that finish at once (two experiments, a study) each write their own
    section: an exclusive lock on ``.DOC.lock`` beside ``doc`` keeps one from losing the other's."""
    import fcntl

    doc = Path(doc)
    begin, end = f"<!-- {key}:begin -->", f"<!-- {key}:end -->"
    block = f"{begin}\n{section.strip()}\n{end}"
    with open(doc.with_name(f".{doc.name}.lock"), "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)      # released when the file closes
        text = doc.read_text() if doc.exists() else preamble
        if begin in text and end in text:
            text = text[:text.index(begin)] + block + text[text.index(end) + len(end):]
        else:
            text = text.rstrip() + "\n\n" + block + "\n"
        atomic_write(doc, text.encode())
