"""Charts of a report, drawn with matplotlib's object API (no pyplot state: safe in threads and workers).

Texts are in the reader's language when drawn for a request (the admin page), in English otherwise (the
weekly digest, drawn by a worker).
"""

from __future__ import annotations

import io
from datetime import date
from typing import Any

from app.api import gettext
from plugins.sla import texts

INK, MUTED = "#2f3941", "#68737d"


def report_png(report: dict[str, Any], *, title: str) -> bytes:
    """Two panels: daily attainment over tickets created each day, and breaches by the report's dimension."""
    # matplotlib takes most of a second to import: only when a chart is drawn, not in every process and command.
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure
    from matplotlib.ticker import MaxNLocator, PercentFormatter

    figure = Figure(figsize=(9, 6.5), dpi=100, layout="constrained")
    FigureCanvasAgg(figure)
    top, bottom = figure.subplots(2, 1, height_ratios=(3, 2))
    figure.suptitle(title, fontsize=14, fontweight="bold", color=INK, x=0.01, ha="left")

    days = report["daily"]
    labels = [texts.short_day(date.fromisoformat(day["key"])) for day in days]
    positions = list(range(len(days)))
    bars = top.bar(positions, [day["tickets"] for day in days], color="#c9d6e8",
                   label=gettext("Tickets created"))
    top.set_ylabel(gettext("Tickets"), color=MUTED)
    top.yaxis.set_major_locator(MaxNLocator(integer=True, min_n_ticks=1))
    # Headroom above the tallest bar and the 100% line, for the legend.
    top.set_ylim(0, max([day["tickets"] for day in days] + [1]) * 1.35)
    top.set_xticks(positions, labels, rotation=45 if len(days) > 10 else 0, fontsize=8,
                   ha="right" if len(days) > 10 else "center")
    share = top.twinx()
    points = [(n, day["attainment"] * 100) for n, day in enumerate(days) if day["attainment"] is not None]
    handles: list[Any] = [bars]
    if points:
        [line] = share.plot([p[0] for p in points], [p[1] for p in points], color="#1f6f43", marker="o",
                            label=gettext("Answered within target"))
        handles.append(line)
    share.set_ylim(0, 125)
    share.set_yticks([0, 25, 50, 75, 100])
    share.yaxis.set_major_formatter(PercentFormatter(decimals=0))
    share.set_ylabel(gettext("Answered within target"), color=MUTED)
    top.legend(handles=handles, loc="upper left", fontsize=8, frameon=False, ncols=2)
    top.set_title(gettext("Each day"), loc="left", fontsize=11, fontweight="bold", color=INK, pad=8)
    overall = report["overall"]
    top.set_title(gettext("Within target: %(share)s · median first reply: %(median)s · breaches: %(breaches)s",
                          share=texts.share(overall["attainment"]),
                          median=texts.duration(overall["median_minutes"]) or texts.NONE,
                          breaches=overall["breaches"]), loc="right", fontsize=9, color=MUTED, pad=8)

    dimension = report.get("by") or "segment"
    breaches = list(report["breaches_by"].get(dimension, {}).items())[:10]
    bottom.set_title(gettext("Breaches by %(dimension)s", dimension=texts.dimension_label(dimension).lower()),
                     loc="left", fontsize=11, fontweight="bold", color=INK, pad=8)
    if breaches:
        names = [texts.key_label(dimension, name) for name, _ in reversed(breaches)]
        bottom.barh(names, [count for _, count in reversed(breaches)], color="#c0392b", height=0.6)
        bottom.set_ylim(-0.6, max(len(names), 4) - 0.4)  # one breach is a bar, not a wall
        bottom.xaxis.set_major_locator(MaxNLocator(integer=True, min_n_ticks=1))
        bottom.set_xlim(0, max(count for _, count in breaches) * 1.1)
        bottom.set_xlabel(gettext("Breaches"), color=MUTED)
    else:
        bottom.text(0.5, 0.5, gettext("No breaches in this period"), ha="center", va="center", fontsize=11,
                    color=MUTED, transform=bottom.transAxes)
        bottom.set_axis_off()
    for axes in (top, share, bottom):
        for side in ("top",):
            axes.spines[side].set_visible(False)

    buffer = io.BytesIO()
    figure.savefig(buffer, format="png")
    return buffer.getvalue()
