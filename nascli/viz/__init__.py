"""Cell diagrams (NB201, DARTS), MobileNet block strips and plots of run logs, as PNG/SVG/PDF (and DOT for cells)."""

from nascli.viz.blocks import draw_mobilenet_strip, mobilenet_strip_dot
from nascli.viz.cells import (
    darts_cell_dot,
    darts_genotype_dot,
    draw_darts_cell,
    draw_darts_genotype,
    draw_nb201_cell,
    nb201_cell_dot,
)
from nascli.viz.plots import (
    plot_dirichlet_trajectory,
    plot_score_scatter,
    plot_search_history,
    plot_training_curves,
    read_jsonl,
)

__all__ = [
    "darts_cell_dot",
    "darts_genotype_dot",
    "draw_darts_cell",
    "draw_darts_genotype",
    "draw_mobilenet_strip",
    "draw_nb201_cell",
    "mobilenet_strip_dot",
    "nb201_cell_dot",
    "plot_dirichlet_trajectory",
    "plot_score_scatter",
    "plot_search_history",
    "plot_training_curves",
    "read_jsonl",
]
