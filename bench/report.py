"""One figure = one measured value next to its baseline from the same run; printed as a JSON line
each, then as a short table.

ratio is always "how many times the baseline is better": for times, value / baseline; for rates,
baseline / value. 1.0 means no overhead over the baseline, 3.0 means three times slower.
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field
from typing import Any


class CheckFailed(AssertionError):
    """A benchmark's answer was wrong: its figure is not reported as a measurement."""


def check(condition: bool, message: str) -> None:
    if not condition:
        raise CheckFailed(message)


@dataclass
class Figure:
    figure: str
    value: float | None
    unit: str
    baseline: float | None = None
    baseline_name: str = ""
    higher_is_better: bool = False  # rates (ops/s) vs times (ms)
    p50_ms: float | None = None
    p99_ms: float | None = None
    samples: int | None = None
    checked: bool = True
    extra: dict[str, Any] = field(default_factory=dict)

    @property
    def ratio(self) -> float | None:
        if not self.value or not self.baseline:
            return None
        return self.baseline / self.value if self.higher_is_better else self.value / self.baseline

    def as_json(self) -> str:
        data = asdict(self)
        data.pop("higher_is_better")
        data["ratio"] = self.ratio
        extra = data.pop("extra")
        for key, value in list(data.items()):
            if isinstance(value, float):
                data[key] = _round(value)
        data.update(extra)
        return json.dumps(data, separators=(", ", ": "))


def failed(name: str, error: BaseException) -> Figure:
    return Figure(name, None, "", checked=False, extra={"error": f"{type(error).__name__}: {error}"[:400]})


def _round(value: float) -> float:
    return round(value, 3) if abs(value) < 100 else round(value, 1)


def _show(value: float | None) -> str:
    if value is None:
        return "-"
    if abs(value) >= 1000:
        return f"{value:,.0f}"
    return f"{value:.3g}" if abs(value) < 10 else f"{value:.1f}"


def table(figures: list[Figure]) -> str:
    head = ("figure", "value", "unit", "baseline", "ratio", "p50 ms", "p99 ms", "ok")
    rows = [head]
    for f in figures:
        rows.append(
            (
                f.figure,
                _show(f.value),
                f.unit,
                _show(f.baseline),
                "-" if f.ratio is None else f"{f.ratio:.2f}x",
                _show(f.p50_ms),
                _show(f.p99_ms),
                "yes" if f.checked else "NO",
            )
        )
    widths = [max(len(str(r[i])) for r in rows) for i in range(len(head))]
    lines = []
    for n, row in enumerate(rows):
        cells = [
            str(c).ljust(w) if i in (0, 2) else str(c).rjust(w)
            for i, (c, w) in enumerate(zip(row, widths, strict=True))
        ]
        lines.append("| " + " | ".join(cells) + " |")
        if n == 0:
            lines.append("|" + "|".join("-" * (w + 2) for w in widths) + "|")
    return "\n".join(lines)
