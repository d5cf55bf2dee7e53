"""Geometry for hand-laid-out graph drawings: boxes, text extents and an edge/label router.

All lengths are inches. The router picks, for every edge, a curvature of matplotlib's `arc3`
connection and a position for its label along the curve, so that edges stay off other nodes and
labels stay off nodes, other labels and other edges (graphviz is not needed).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from functools import lru_cache

import numpy as np
from matplotlib.backends.backend_agg import RendererAgg
from matplotlib.font_manager import FontProperties

RAD_CHOICES = (0.0, -0.1, 0.1, -0.2, 0.2, -0.3, 0.3, -0.4, 0.4, -0.52, 0.52, -0.65, 0.65)
"""Curvatures tried for an edge (matplotlib `arc3` rad; positive bends a rightward edge downwards)."""

LABEL_POSITIONS = (0.5, 0.42, 0.58, 0.34, 0.66, 0.27, 0.73, 0.2, 0.8)
"""Curve parameters tried for the centre of an edge label, middle first."""

_SAMPLES = 41

# Costs, in falling order of how bad a defect looks.
_COST_THROUGH_NODE = 1000.0  # per curve sample inside a node the edge does not touch
_COST_LABEL_ON_NODE = 1000.0
_COST_LABEL_ON_LABEL = 500.0
_COST_EDGE_UNDER_LABEL = 15.0  # per curve sample hidden under another edge's label
_COST_ALONG_EDGE = 2.0  # per curve sample running close to another edge
_COST_CROSSING = 2.0
_COST_PER_RAD = 60.0
_COST_LABEL_OFF_MIDDLE = 10.0  # per unit of curve parameter away from the middle


@lru_cache(maxsize=1)
def _measuring_renderer() -> RendererAgg:
    """An off-screen renderer at 72 dpi, so that text extents come out in points."""
    return RendererAgg(16, 16, 72)


@lru_cache(maxsize=512)
def text_size(text: str, fontsize: float, weight: str = "normal") -> tuple[float, float]:
    """Width and height of rendered text in inches (mathtext when wrapped in $…$)."""
    is_math = len(text) > 1 and text.startswith("$") and text.endswith("$")
    width, height, _ = _measuring_renderer().get_text_width_height_descent(
        text, FontProperties(size=fontsize, weight=weight), ismath=is_math
    )
    return width / 72.0, height / 72.0


@dataclass(frozen=True)
class Box:
    """An axis-aligned rectangle given by its centre and half sizes."""

    cx: float
    cy: float
    half_w: float
    half_h: float

    def contains(self, points: np.ndarray, margin: float = 0.0) -> np.ndarray:
        """Which of the (n, 2) points lie inside the box grown by `margin`."""
        if len(points) == 0:
            return np.zeros(0, dtype=bool)
        return (np.abs(points[:, 0] - self.cx) <= self.half_w + margin) & (
            np.abs(points[:, 1] - self.cy) <= self.half_h + margin
        )

    def overlaps(self, other: Box, margin: float = 0.0) -> bool:
        """Whether the two boxes, each grown by `margin`, intersect."""
        return (
            abs(self.cx - other.cx) < self.half_w + other.half_w + 2 * margin
            and abs(self.cy - other.cy) < self.half_h + other.half_h + 2 * margin
        )

    def extent(self) -> tuple[float, float, float, float]:
        """(xmin, xmax, ymin, ymax)."""
        return (self.cx - self.half_w, self.cx + self.half_w, self.cy - self.half_h, self.cy + self.half_h)


@dataclass(frozen=True)
class Node:
    """A node to draw: position, half sizes, text and fill; `shape` is "box" or "circle"."""

    key: str
    label: str
    x: float
    y: float
    half_w: float
    half_h: float
    fill: str
    shape: str

    @property
    def box(self) -> Box:
        """The node's bounding box."""
        return Box(self.x, self.y, self.half_w, self.half_h)


@dataclass(frozen=True)
class Edge:
    """An edge to draw; `label` None draws no label; `rad` fixes the curvature instead of searching."""

    source: str
    target: str
    label: str | None
    label_size: tuple[float, float] = (0.0, 0.0)
    rad: float | None = None


@dataclass(frozen=True)
class Route:
    """An edge with its chosen curvature, its sampled curve and its label box."""

    edge: Edge
    rad: float
    path: np.ndarray  # samples of the curve outside its two end nodes
    middle: np.ndarray  # samples of the middle three fifths, for the "runs along" test
    bounds: tuple[float, float, float, float]  # of `path`
    label_box: Box | None
    label_t: float | None


def curve_points(start: np.ndarray, end: np.ndarray, rad: float, t: np.ndarray) -> np.ndarray:
    """Points at parameters `t` of matplotlib's `arc3,rad=…` connection (a quadratic Bézier)."""
    delta = end - start
    control = (start + end) / 2 + rad * np.array([delta[1], -delta[0]])
    t = np.asarray(t, dtype=float)[..., None]
    return (1 - t) ** 2 * start + 2 * t * (1 - t) * control + t**2 * end


def _bounds_apart(first: tuple[float, ...], second: tuple[float, ...], margin: float) -> bool:
    """Whether two (xmin, xmax, ymin, ymax) extents are more than `margin` apart."""
    return (
        first[0] > second[1] + margin
        or second[0] > first[1] + margin
        or first[2] > second[3] + margin
        or second[2] > first[3] + margin
    )


def _count_near(points: np.ndarray, others: np.ndarray, distance: float) -> int:
    """How many of `points` lie within `distance` of any of `others`."""
    if len(points) == 0 or len(others) == 0:
        return 0
    gaps = np.linalg.norm(points[:, None, :] - others[None, :, :], axis=-1)
    return int((gaps.min(axis=1) < distance).sum())


def count_crossings(path: np.ndarray, other: np.ndarray) -> int:
    """How many times two polylines cross (proper segment intersections)."""
    if len(path) < 2 or len(other) < 2:
        return 0
    a, b = path[:-1, None, :], path[1:, None, :]
    c, d = other[None, :-1, :], other[None, 1:, :]

    def side(direction: np.ndarray, origin: np.ndarray, point: np.ndarray) -> np.ndarray:
        offset = point - origin
        return np.sign(direction[..., 0] * offset[..., 1] - direction[..., 1] * offset[..., 0])

    ab, cd = b - a, d - c
    crossing = (side(ab, a, c) * side(ab, a, d) < 0) & (side(cd, c, a) * side(cd, c, b) < 0)
    return int(crossing.sum())


class EdgeRouter:
    """Chooses curvature and label position of every edge of one drawing (see `route`)."""

    def __init__(self, nodes: dict[str, Node], edges: Sequence[Edge], obstacles: Sequence[Box] = ()) -> None:
        self.nodes = nodes
        self.edges = list(edges)
        self.obstacles = list(obstacles)
        self._routes: dict[tuple[int, float, float | None], Route] = {}
        self._own_costs: dict[tuple[int, float, float | None], float] = {}
        self._pair_costs: dict[tuple, float] = {}
        self._curve_costs: dict[tuple, float] = {}

    def route(self) -> list[Route]:
        """Routes in edge order: greedy placement in a few orders, then re-placing each edge against
        all others until nothing improves; the cheapest drawing wins."""
        lengths = [self._length(i) for i in range(len(self.edges))]
        unlabelled = [edge.label is None for edge in self.edges]
        indices = range(len(self.edges))
        orders = [
            sorted(indices, key=lambda i: (unlabelled[i], lengths[i], i)),
            sorted(indices, key=lambda i: (unlabelled[i], -lengths[i], i)),
            sorted(indices, key=lambda i: (unlabelled[i], i)),
        ]
        best_cost, best_keys = math.inf, None
        for order in orders:
            chosen: dict[int, tuple[int, float, float | None]] = {}
            for index in order:
                chosen[index] = self._best_key(index, list(chosen.values()))[1]
            for _ in range(4):
                changed = False
                for index in order:
                    others = [key for other, key in chosen.items() if other != index]
                    current = self._cost(chosen[index], others)
                    cost, key = self._best_key(index, others)
                    if cost < current - 1e-6:
                        chosen[index], changed = key, True
                if not changed:
                    break
            keys = [chosen[i] for i in indices]
            total = sum(self._cost(key, keys[position + 1 :]) for position, key in enumerate(keys))
            if total < best_cost - 1e-6:
                best_cost, best_keys = total, keys
        assert best_keys is not None
        return [self._route(key) for key in best_keys]

    def _length(self, index: int) -> float:
        """Distance between the centres of an edge's end nodes."""
        source, target = self.nodes[self.edges[index].source], self.nodes[self.edges[index].target]
        return math.dist((source.x, source.y), (target.x, target.y))

    def _route(self, key: tuple[int, float, float | None]) -> Route:
        """The (cached) route of edge `key[0]` with curvature `key[1]` and label at parameter `key[2]`."""
        if key not in self._routes:
            index, rad, label_t = key
            edge = self.edges[index]
            source, target = self.nodes[edge.source], self.nodes[edge.target]
            start, end = np.array([source.x, source.y]), np.array([target.x, target.y])
            points = curve_points(start, end, rad, np.linspace(0.0, 1.0, _SAMPLES))
            path = points[~(source.box.contains(points, 0.02) | target.box.contains(points, 0.02))]
            if len(path) == 0:  # overlapping end nodes: keep the segment so the geometry stays defined
                path = points
            bounds = (path[:, 0].min(), path[:, 0].max(), path[:, 1].min(), path[:, 1].max())
            label_box = None
            if edge.label is not None and label_t is not None:
                centre = curve_points(start, end, rad, label_t)
                label_box = Box(float(centre[0]), float(centre[1]), edge.label_size[0] / 2, edge.label_size[1] / 2)
            middle = points[_SAMPLES // 5 : -(_SAMPLES // 5)]
            self._routes[key] = Route(edge, rad, path, middle, bounds, label_box, label_t)
        return self._routes[key]

    def _own_cost(self, key: tuple[int, float, float | None]) -> float:
        """Cost of a route against the fixed parts of the drawing: nodes, obstacles, its own shape."""
        if key not in self._own_costs:
            route = self._route(key)
            edge = route.edge
            cost = _COST_PER_RAD * abs(route.rad)
            blocking = [node.box for k, node in self.nodes.items() if k not in (edge.source, edge.target)]
            blocking += self.obstacles
            cost += sum(_COST_THROUGH_NODE * int(box.contains(route.path, 0.1).sum()) for box in blocking)
            if route.label_box is not None and route.label_t is not None:
                cost += _COST_LABEL_OFF_MIDDLE * abs(route.label_t - 0.5)
                every_box = [node.box for node in self.nodes.values()] + self.obstacles
                cost += _COST_LABEL_ON_NODE * sum(route.label_box.overlaps(box, 0.05) for box in every_box)
            self._own_costs[key] = cost
        return self._own_costs[key]

    def _pair_cost(self, key: tuple[int, float, float | None], other_key: tuple[int, float, float | None]) -> float:
        """Cost between two routes: crossings, running along, labels on labels or on edges (symmetric)."""
        pair = (key, other_key) if key[0] <= other_key[0] else (other_key, key)
        if pair not in self._pair_costs:
            first, second = self._route(pair[0]), self._route(pair[1])
            cost = self._curve_pair_cost(pair[0][:2], pair[1][:2])
            for one, two in ((first, second), (second, first)):
                if one.label_box is not None and not _bounds_apart(one.label_box.extent(), two.bounds, 0.03):
                    cost += _COST_EDGE_UNDER_LABEL * int(one.label_box.contains(two.path, 0.03).sum())
            if (
                first.label_box is not None
                and second.label_box is not None
                and first.label_box.overlaps(second.label_box, 0.04)
            ):
                cost += _COST_LABEL_ON_LABEL
            self._pair_costs[pair] = cost
        return self._pair_costs[pair]

    def _curve_pair_cost(self, curve: tuple[int, float], other_curve: tuple[int, float]) -> float:
        """Cost between two curves regardless of their labels: crossings and running along each other."""
        pair = (curve, other_curve)
        if pair not in self._curve_costs:
            first, second = self._route((*curve, None)), self._route((*other_curve, None))
            cost = 0.0
            if not _bounds_apart(first.bounds, second.bounds, 0.1):
                cost += _COST_CROSSING * count_crossings(first.path, second.path)
                cost += _COST_ALONG_EDGE * _count_near(first.middle, second.middle, 0.07)
            self._curve_costs[pair] = cost
        return self._curve_costs[pair]

    def _cost(self, key: tuple[int, float, float | None], others: Sequence[tuple[int, float, float | None]]) -> float:
        """The cost a route adds to a drawing that holds the routes `others`."""
        return self._own_cost(key) + sum(self._pair_cost(key, other) for other in others)

    def _best_key(
        self, index: int, others: Sequence[tuple[int, float, float | None]]
    ) -> tuple[float, tuple[int, float, float | None]]:
        """The cheapest (cost, route key) for edge `index` given the routes `others`."""
        edge = self.edges[index]
        rads = (edge.rad,) if edge.rad is not None else RAD_CHOICES
        positions = LABEL_POSITIONS if edge.label is not None else (None,)
        best: tuple[float, tuple[int, float, float | None]] | None = None
        for rad in rads:
            for label_t in positions:
                key = (index, rad, label_t)
                cost = self._cost(key, others)
                if best is None or cost < best[0] - 1e-9:
                    best = (cost, key)
        assert best is not None
        return best
