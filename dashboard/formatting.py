"""How the dashboard's figures read on its pages, its report and its export."""

from dashboard import metrics as m

MINUS = "\u2212"


def value_text(metric: m.Metric, value: float | None) -> str:
    """A figure as the page prints it: rates in percent with one decimal, the mean
    satisfaction with two and its unit, counts with thousands separators."""
    if value is None:
        return "—"
    if metric.kind == m.RATE:
        return f"{value * 100:.1f}%"
    if metric.kind == m.MEAN:
        return f"{value:.2f}{metric.unit}"
    return f"{round(value):,}"


def change_text(change: float | None) -> str:
    """A relative change as a signed percentage with two decimals ("+5.20%", "−12.23%")."""
    if change is None:
        return "—"
    percent = round(change * 100, 2)
    if percent == 0:
        return "0.00%"
    return f"{'+' if percent > 0 else MINUS}{abs(percent):.2f}%"


def sort_key(value: float | None) -> str:
    """A number for the table's client-side sort, unlocalised; empty for "—" (sorted last)."""
    return "" if value is None else format(value, ".12g")


def change_view(change: float | None, good: bool | None) -> dict:
    """What a 同比 / 环比 shows: the text, the arrow and its colour (by whether the change
    is for the better)."""
    arrow = "" if not change else ("▲" if change > 0 else "▼")
    tone = "flat" if good is None else ("good" if good else "bad")
    return {"text": change_text(change), "arrow": arrow, "tone": tone, "value": change, "sort": sort_key(change)}
