"""In-memory time series: the last points of each series and running summaries."""

from __future__ import annotations

import math
import threading
from collections import deque
from dataclasses import dataclass, field

MAX_POINTS = 1000


@dataclass
class Series:
    points: deque = field(default_factory=lambda: deque(maxlen=MAX_POINTS))
    count: int = 0
    total: float = 0.0
    low: float = math.inf
    high: float = -math.inf

    def add(self, ts: float, value: float) -> None:
        self.points.append((ts, value))
        self.count += 1
        self.total += value
        self.low = min(self.low, value)
        self.high = max(self.high, value)

    def summary(self) -> dict:
        return {
            "count": self.count,
            "mean": self.total / self.count if self.count else None,
            "min": self.low if self.count else None,
            "max": self.high if self.count else None,
            "last": self.points[-1][1] if self.points else None,
        }


class Store:
    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._series: dict[str, Series] = {}

    def ingest(self, points: list[dict]) -> int:
        with self._lock:
            for point in points:
                self._series.setdefault(point["name"], Series()).add(point["ts"], point["value"])
        return len(points)

    def names(self) -> list[str]:
        with self._lock:
            return sorted(self._series)

    def summary(self, name: str) -> dict | None:
        with self._lock:
            series = self._series.get(name)
            return series.summary() if series else None

    def points(self, name: str) -> list[tuple[float, float]]:
        with self._lock:
            series = self._series.get(name)
            return list(series.points) if series else []
