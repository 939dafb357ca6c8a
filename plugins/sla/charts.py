"""Charts of a report, drawn with matplotlib's object API (no pyplot state: safe in threads and workers)."""

from __future__ import annotations

import io
from typing import Any


def report_png(report: dict[str, Any], *, title: str) -> bytes:
    """Two panels: daily attainment over tickets created each day, and breaches by the report's dimension."""
    # matplotlib takes most of a second to import: only when a chart is drawn, not in every process and command.
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    figure = Figure(figsize=(9, 6.5), dpi=100, layout="constrained")
    FigureCanvasAgg(figure)
    top, bottom = figure.subplots(2, 1, height_ratios=(3, 2))
    figure.suptitle(title, fontsize=13)

    days = report["daily"]
    labels = [day["key"][5:] for day in days]  # MM-DD
    positions = list(range(len(days)))
    top.bar(positions, [day["tickets"] for day in days], color="#c9d6e8", label="tickets created")
    top.set_ylabel("tickets")
    top.set_xticks(positions, labels, rotation=45 if len(days) > 10 else 0, fontsize=8)
    share = top.twinx()
    points = [(n, day["attainment"] * 100) for n, day in enumerate(days) if day["attainment"] is not None]
    if points:
        share.plot([p[0] for p in points], [p[1] for p in points], color="#1f6f43", marker="o",
                   label="answered within target")
    share.set_ylim(0, 105)
    share.set_ylabel("% within target")
    overall = report["overall"]
    attainment = "n/a" if overall["attainment"] is None else f"{overall['attainment'] * 100:.0f}%"
    median = "n/a" if overall["median_minutes"] is None else f"{overall['median_minutes']:.0f} min"
    top.set_title(f"Within target: {attainment}   median first reply: {median}   "
                  f"breaches: {overall['breaches']}", fontsize=10)

    dimension = report.get("by") or "segment"
    breaches = list(report["breaches_by"].get(dimension, {}).items())[:10]
    if breaches:
        names = [name for name, _ in reversed(breaches)]
        bottom.barh(names, [count for _, count in reversed(breaches)], color="#c0392b")
        bottom.set_xlabel("breaches")
    else:
        bottom.text(0.5, 0.5, "No breaches in this period", ha="center", va="center", fontsize=11)
        bottom.set_axis_off()
    bottom.set_title(f"Breaches by {dimension}", fontsize=10)

    buffer = io.BytesIO()
    figure.savefig(buffer, format="png")
    return buffer.getvalue()
