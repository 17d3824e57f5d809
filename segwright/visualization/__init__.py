"""Floor 4: pictures people look at — palettes, overlays, training curves, confusion matrices.

matplotlib is imported only by the plotting functions, with the non-interactive Agg backend.
"""

from segwright.utils.palette import auto_palette, get_palette
from segwright.visualization.labels import draw_class_labels
from segwright.visualization.legend import LegendEntry, legend_entries
from segwright.visualization.overlay import colorize_mask, overlay_mask
from segwright.visualization.panels import prediction_grid, side_by_side

__all__ = [
    "LegendEntry",
    "auto_palette",
    "colorize_mask",
    "draw_class_labels",
    "get_palette",
    "legend_entries",
    "overlay_mask",
    "prediction_grid",
    "side_by_side",
]
