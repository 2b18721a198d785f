"""The report's pictures, drawn by matplotlib as SVG to sit inline in the self-contained page.

Reproducible to the byte: the Agg backend (never a window), a fixed hash salt per chart (the
ids of its clip paths, unique in the page), no date or creator in the metadata, and text laid
out in DejaVu Sans (matplotlib's own copy, covering Latin, Greek, Cyrillic and Vietnamese). Text
stays SVG text, not glyph outlines: names can be searched and copied, and the page is a third
of the size. Text never passes through mathtext (a `$` in a name stays a `$`), and matplotlib
escapes it in the SVG.

Money arrives as Decimal; it becomes float only here, to place a bar or a point. Every figure
written as text (labels on bars, the tables beside the charts) is formatted from the Decimal.
"""

from __future__ import annotations

import io
import textwrap
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date
from decimal import Decimal

import matplotlib

matplotlib.use("Agg")  # never a window: the pipeline runs headless

from markupsafe import Markup  # noqa: E402
from matplotlib.axis import Axis  # noqa: E402  (after the backend is chosen)
from matplotlib.figure import Figure  # noqa: E402
from matplotlib.ticker import FuncFormatter, MaxNLocator  # noqa: E402

HASH_SALT = "csp-recon-report"
STYLE = {
    "font.family": "sans-serif",
    "font.sans-serif": ["DejaVu Sans"],
    "font.size": 9,
    "svg.fonttype": "none",
    "text.parse_math": False,
    "axes.spines.top": False,
    "axes.spines.right": False,
    "axes.grid": True,
    "grid.color": "#e5e5e5",
    "axes.axisbelow": True,
}
NO_METADATA = {"Date": None, "Creator": None, "Format": None, "Type": None}
COST, BILLED, MARGIN, LOSS, OVER = "#6b7280", "#1d4ed8", "#0a7b34", "#b42318", "#b42318"
WIDTH_INCHES = 7.5
RIGHT_INCHES = 0.25
CHAR_INCHES = 9 * 0.6 / 72  # DejaVu Sans at 9 pt: an average character is about 0.6 em wide
NOTE_FONT_SIZE = 7.5
NOTE_CHAR_INCHES = NOTE_FONT_SIZE * 0.6 / 72
NAME_WRAP = 34  # characters per line of a customer's name beside a bar
MAX_BARS = 30  # past this, the chart shows the largest and smallest margins; the table has all


@dataclass(frozen=True)
class Chart:
    key: str  # unique in the page: the SVG's ids are salted with it
    title: str
    svg: Markup


def amount_text(value: Decimal) -> str:
    return f"{value:,.2f}"


def _thousands(value: float, _position: int) -> str:
    """An axis tick (placed by float, so never a figure to read to the cent): millions shortened."""
    for unit, scale in (("tn", 1e12), ("bn", 1e9), ("M", 1e6)):
        if abs(value) >= scale:
            return f"{value / scale:,.4g}{unit}" if abs(value) < 1e15 else f"{value:.1e}"
    return f"{value:,.0f}"


def _money_axis(axis: Axis) -> None:
    axis.set_major_locator(MaxNLocator(nbins=6))
    axis.set_major_formatter(FuncFormatter(_thousands))


def _draw(fig: Figure, key: str) -> Markup:
    buffer = io.StringIO()
    with matplotlib.rc_context({"svg.hashsalt": f"{HASH_SALT}-{key}"}):
        fig.savefig(buffer, format="svg", metadata=NO_METADATA)
    text = buffer.getvalue()
    svg = text[text.index("<svg") :]  # the XML prolog and DOCTYPE have no place inside HTML
    lowered = svg.lower()
    if "<script" in lowered or "<foreignobject" in lowered:  # matplotlib never writes these; names are escaped
        raise ValueError(f"the chart {key} holds markup it must not")
    return Markup(svg)


def _figure(height: float, *, left: float, bottom: float, top: float, right: float = RIGHT_INCHES) -> Figure:
    """A figure with its margins set in inches, from the labels' lengths: no layout engine, whose
    measuring pass would draw every chart twice."""
    with matplotlib.rc_context(STYLE):
        fig = Figure(figsize=(WIDTH_INCHES, height))
        fig.subplots_adjust(
            left=left / WIDTH_INCHES, right=1 - right / WIDTH_INCHES, bottom=bottom / height, top=1 - top / height
        )
        return fig


def _notes_inches(notes: Sequence[str]) -> float:
    """Room right of the axes for the figures written at the bars' ends."""
    return max((len(note) for note in notes), default=0) * NOTE_CHAR_INCHES + RIGHT_INCHES


def _labels_inches(labels: Sequence[str]) -> float:
    """Room for the longest line of the labels beside the bars."""
    longest = max((len(line) for label in labels for line in label.split("\n")), default=0)
    return longest * CHAR_INCHES + 0.2


def month_label(first_day: date) -> str:
    """A `billing_period` value (a month's first day) as its month."""
    return f"{first_day:%Y-%m}"


def trend_chart(currency: str, months: Sequence[date], figures: dict[date, tuple[Decimal, Decimal, Decimal]]) -> Chart:
    """Cost, billed and margin of one currency per month; a month missing from `figures` is a gap."""
    key = f"trend-{currency}"
    with matplotlib.rc_context(STYLE):
        fig = _figure(3.2, left=1.15, bottom=0.8 if len(months) > 6 else 0.45, top=0.35)
        axes = fig.subplots()
        positions = list(range(len(months)))
        for index, (name, colour) in enumerate((("Cost", COST), ("Billed", BILLED), ("Margin", MARGIN))):
            values = [float(figures[month][index]) if month in figures else float("nan") for month in months]
            axes.plot(positions, values, marker="o", color=colour, label=name, linewidth=1.8)
        axes.set_xticks(positions, [month_label(month) for month in months], rotation=45 if len(months) > 6 else 0)
        _money_axis(axes.yaxis)
        axes.axhline(0, color="#999999", linewidth=0.8)
        axes.set_ylabel(f"{currency}, pre-tax")
        axes.legend(loc="lower left", bbox_to_anchor=(0, 1), ncols=3, frameon=False)  # above: never over a line
        return Chart(key, f"{currency}: cost, billed and margin per month", _draw(fig, key))


def _wrapped(name: str) -> str:
    return "\n".join(textwrap.wrap(name, NAME_WRAP)) or name


def _bar_height(labels: Sequence[str]) -> float:
    """Inches: a bar per label, taller for a name wrapped on several lines, plus the axis below."""
    lines = sum(max(1, label.count("\n") + 1) for label in labels)
    return max(1.6, 0.3 * len(labels) + 0.12 * (lines - len(labels)) + 0.9)


def margin_chart(currency: str, names: Sequence[str], margins: Sequence[Decimal]) -> Chart:
    """Margin per customer of one currency, largest on top; a loss in red."""
    key = f"margin-{currency}"
    with matplotlib.rc_context(STYLE):
        labels = [_wrapped(name) for name in names]
        notes = [amount_text(margin) for margin in margins]
        right = _notes_inches([note for note, margin in zip(notes, margins) if margin >= 0])
        fig = _figure(_bar_height(labels), left=_labels_inches(labels), bottom=0.55, top=0.12, right=right)
        axes = fig.subplots()
        positions = list(range(len(names)))
        axes.barh(
            positions, [float(m) for m in margins], color=[LOSS if m < 0 else MARGIN for m in margins], height=0.65
        )
        axes.set_yticks(positions, labels)
        axes.invert_yaxis()
        axes.axvline(0, color="#999999", linewidth=0.8)
        _money_axis(axes.xaxis)
        axes.set_xlabel(f"Margin, {currency} pre-tax (billed - cost)")
        axes.grid(axis="y", visible=False)
        for position, margin, note in zip(positions, margins, notes):
            axes.annotate(
                note, (float(margin), position), xytext=(4 if margin >= 0 else -4, 0),
                textcoords="offset points", ha="left" if margin >= 0 else "right", va="center", fontsize=NOTE_FONT_SIZE,
            )  # fmt: skip
        axes.margins(x=0.15 if any(margin < 0 for margin in margins) else 0.02)  # room for a loss's figure
        return Chart(key, f"{currency}: margin per customer", _draw(fig, key))


def budget_chart(
    currency: str, names: Sequence[str], usage: Sequence[Decimal], budgets: Sequence[Decimal], notes: Sequence[str]
) -> Chart:
    """Azure spend at sell price against each customer's monthly budget: the budget a light bar, usage over
    it; red when over. `notes` are the labels beside the bars (share of budget, from Decimal)."""
    key = f"budget-{currency}"
    with matplotlib.rc_context(STYLE):
        labels = [_wrapped(name) for name in names]
        fig = _figure(
            _bar_height(labels), left=_labels_inches(labels), bottom=0.55, top=0.4, right=_notes_inches(notes)
        )
        axes = fig.subplots()
        positions = list(range(len(names)))
        axes.barh(
            positions, [float(b) for b in budgets], color="#dbeafe", edgecolor="#93c5fd", height=0.75, label="Budget"
        )
        colours = [OVER if u > b else BILLED for u, b in zip(usage, budgets)]
        axes.barh(positions, [float(u) for u in usage], color=colours, height=0.4, label="Azure spend at your prices")
        axes.set_yticks(positions, labels)
        axes.invert_yaxis()
        _money_axis(axes.xaxis)
        axes.set_xlabel(f"{currency}, pre-tax")
        axes.grid(axis="y", visible=False)
        for position, top, note in zip(positions, (max(u, b) for u, b in zip(usage, budgets)), notes):
            axes.annotate(
                note,
                (float(top), position),
                xytext=(4, 0),
                textcoords="offset points",
                va="center",
                fontsize=NOTE_FONT_SIZE,
            )
        axes.margins(x=0.02)
        axes.legend(loc="lower left", bbox_to_anchor=(0, 1), ncols=2, frameon=False)
        return Chart(key, f"{currency}: Azure usage against budget", _draw(fig, key))
