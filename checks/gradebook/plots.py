"""The gradebook's pictures as inline SVG (pages that carry their plots, no files beside them).

Drawn with matplotlib as :mod:`labkit.plots` draws step 7's, in its cold and warm colours. Text stays text
(``svg.fonttype: none``), so the browser renders it, and ids are salted so the same data gives the same SVG.
"""

from __future__ import annotations

import io

import numpy as np
from matplotlib.ticker import MaxNLocator

from labkit.plots import COLD, WARM, plt  # Agg, set by labkit.plots

STYLE = {"svg.fonttype": "none", "svg.hashsalt": "gradebook", "font.size": 9}


def svg(figure) -> str:
    """The figure as an ``<svg>`` element (no XML prolog), closed after."""
    buffer = io.StringIO()
    with plt.rc_context(STYLE):
        figure.tight_layout()
        figure.savefig(buffer, format="svg", metadata={"Date": None})
    plt.close(figure)
    page = buffer.getvalue()
    return page[page.index("<svg"):]


def strip(axes, position: float, values: list[float], colour: str) -> None:
    """A box with every value as a dot beside it."""
    if not values:
        return
    box = axes.boxplot([values], positions=[position], widths=0.5, patch_artist=True, showfliers=False,
                       medianprops={"color": "black"})
    box["boxes"][0].set(facecolor=colour, alpha=0.3)
    spread = np.linspace(-0.12, 0.12, len(values)) if len(values) > 1 else [0.0]
    axes.scatter(position + np.asarray(spread), values, color=colour, s=12, zorder=3)


def latency(cold: list[float], warm: list[float], title: str) -> str:
    """Cold and warm client latencies side by side (log scale)."""
    figure, axes = plt.subplots(figsize=(5.5, 3.2))
    strip(axes, 1, cold, COLD)
    strip(axes, 2, warm, WARM)
    axes.set_xticks([1, 2], [f"cold (n={len(cold)})", f"warm (n={len(warm)})"])
    axes.set(yscale="log", xlim=(0.4, 2.6), ylabel="latency (ms, log scale)", title=title)
    return svg(figure)


def score_histogram(scores: list[float], possible: int) -> str:
    """How many students earned each score."""
    figure, axes = plt.subplots(figsize=(6.5, 3))
    bins = np.arange(0, possible + 2) - 0.5 if possible <= 60 else np.linspace(0, possible, 21)
    axes.hist(scores, bins=bins, color=WARM, edgecolor="white")
    axes.set(xlabel=f"points (of {possible})", ylabel="students", xlim=(-0.5, possible + 0.5), title="Scores")
    axes.yaxis.set_major_locator(MaxNLocator(integer=True))
    axes.spines[["top", "right"]].set_visible(False)
    return svg(figure)


def step_times(seconds: dict[str, list[float]]) -> str:
    """Seconds per step across the class, a box per step."""
    figure, axes = plt.subplots(figsize=(6.5, 3))
    steps = sorted(seconds, key=int)
    for position, step in enumerate(steps, start=1):
        strip(axes, position, seconds[step], WARM)
    axes.set_xticks(range(1, len(steps) + 1), [f"step {s}" for s in steps])
    axes.set(ylabel="seconds", title="Time per step")
    return svg(figure)
