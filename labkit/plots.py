"""The pictures of step 7: every request's latency by position, cold vs warm side by side, and where INIT goes."""

from __future__ import annotations

from pathlib import Path

import matplotlib
import numpy as np

matplotlib.use("Agg")  # files only; notebooks display the saved PNG
import matplotlib.pyplot as plt  # noqa: E402

from .timing import Sample  # noqa: E402

COLD, WARM = "#d1495b", "#00798c"


def plot(samples: list[Sample], path: Path) -> Path:
    """Save a two-panel PNG: latency by request position per round, and the two distributions."""
    figure, (by_position, by_class) = plt.subplots(1, 2, figsize=(11, 4.2), gridspec_kw={"width_ratios": [3, 2]})
    for round_ in sorted({s.round for s in samples}):
        mine = sorted((s for s in samples if s.round == round_), key=lambda s: s.position)
        by_position.plot([s.position for s in mine], [s.latency_ms for s in mine], color="0.75", zorder=1)
    for label, colour, group in (("cold", COLD, [s for s in samples if s.position == 1]),
                                 ("warm", WARM, [s for s in samples if s.position > 1])):
        by_position.scatter([s.position for s in group], [s.latency_ms for s in group], color=colour, label=label, zorder=2)
    by_position.set(yscale="log", xlabel="request number within a round (1 = right after a cold start)",
                    ylabel="client latency (ms, log scale)", title="Every request, by position")
    by_position.set_xticks(sorted({s.position for s in samples}))
    by_position.legend()

    groups = {"cold": [s.latency_ms for s in samples if s.position == 1],
              "warm": [s.latency_ms for s in samples if s.position > 1]}
    boxes = by_class.boxplot(list(groups.values()), tick_labels=list(groups), patch_artist=True, widths=0.5,
                             medianprops={"color": "black"}, showfliers=False)
    for x, (box, colour, values) in enumerate(zip(boxes["boxes"], (COLD, WARM), groups.values()), start=1):
        box.set(facecolor=colour, alpha=0.3)
        spread = np.linspace(-0.12, 0.12, len(values)) if len(values) > 1 else [0.0]
        by_class.scatter(x + np.asarray(spread), values, color=colour, s=14, zorder=3)
        if values:
            by_class.text(x + 0.3, np.median(values), f"p50\n{np.median(values):,.1f} ms", va="center", fontsize=9)
    by_class.set(yscale="log", xlim=(0.5, 2.9), ylabel="client latency (ms, log scale)", title="Cold vs warm")
    figure.tight_layout()
    path.parent.mkdir(parents=True, exist_ok=True)
    figure.savefig(path, dpi=110)
    plt.close(figure)
    return path


def plot_init(profiles: dict, path: Path) -> Path:
    """Save a PNG with a horizontal bar per row of each INIT profile (rows all zero are left out)."""
    rows = [row for row in list(next(iter(profiles.values())).rows)[::-1] if any(p.rows[row] for p in profiles.values())]
    height = 0.8 / len(profiles)
    figure, axes = plt.subplots(figsize=(8, 1.2 + 0.45 * len(rows) * len(profiles) ** 0.5))
    for i, (label, colour, profile) in enumerate(zip(profiles, (WARM, COLD), profiles.values())):
        offsets = np.arange(len(rows)) - (i - (len(profiles) - 1) / 2) * height  # the first profile on top
        bars = axes.barh(offsets, [profile.rows[row] for row in rows], height=height, color=colour,
                         label=f"{label}: {profile.total_ms:,.0f} ms in all")
        axes.bar_label(bars, labels=[f"{profile.rows[row]:,.0f} ms" if profile.rows[row] else "" for row in rows], padding=3, fontsize=8)
    axes.set_yticks(np.arange(len(rows)), rows)
    axes.set(xlabel="ms spent in each group's own module code (quickest of 3 fresh interpreters)",
             title="Where INIT goes: `import app`")
    axes.spines[["top", "right"]].set_visible(False)
    axes.margins(x=0.12)  # room for the labels
    if len(profiles) > 1:
        axes.legend(loc="lower right")
    figure.tight_layout()
    path.parent.mkdir(parents=True, exist_ok=True)
    figure.savefig(path, dpi=110)
    plt.close(figure)
    return path


def plot_burst(lambda_hits: list, run_hits: list, path: Path) -> Path:
    """Save a two-panel PNG of step 9's burst: each request's latency on both platforms, and what started."""
    figure, (latencies, started) = plt.subplots(1, 2, figsize=(11, 4.2), gridspec_kw={"width_ratios": [3, 2]})
    for x, hits in enumerate((lambda_hits, run_hits)):
        spread = np.linspace(-0.25, 0.25, len(hits)) if len(hits) > 1 else [0.0]
        for offset, hit in zip(spread, sorted(hits, key=lambda h: h.latency_ms)):
            latencies.scatter(x + offset, hit.latency_ms, color=COLD if hit.cold else WARM, s=22, zorder=2)
    latencies.scatter([], [], color=COLD, label="cold start: started its environment / instance")
    latencies.scatter([], [], color=WARM, label="served by one started (or starting) for another")
    latencies.set_xticks([0, 1], ["Lambda", "Cloud Run"])
    latencies.set(yscale="log", ylabel="client latency (ms, log scale)",
                  title=f"{len(lambda_hits)} requests at once, each platform")
    latencies.legend()
    counts = [sum(h.cold for h in lambda_hits), len({h.instance for h in run_hits if h.instance})]
    bars = started.bar(["Lambda\nexecution environments", "Cloud Run\ninstances"], counts, color=(COLD, WARM), width=0.5)
    started.bar_label(bars, padding=3)
    started.set(ylabel="serving the burst", title="One request per environment vs 80 per instance")
    started.spines[["top", "right"]].set_visible(False)
    figure.tight_layout()
    path.parent.mkdir(parents=True, exist_ok=True)
    figure.savefig(path, dpi=110)
    plt.close(figure)
    return path
