"""Floor 4: pictures people look at — palettes, overlays, training curves, confusion matrices.

matplotlib is imported only by the plotting functions, with the non-interactive Agg backend.
"""

from segwright.visualization.overlay import colorize_mask, overlay_mask, side_by_side
from segwright.visualization.palette import get_palette

__all__ = ["colorize_mask", "get_palette", "overlay_mask", "side_by_side"]
