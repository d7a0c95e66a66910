"""Label placement for bubble charts: each label gets its own box, clear of every other label and
bubble, joined to its own bubble by a short line.

Plain deterministic greedy placement in pixels: labels are placed biggest bubble first; each tries
positions around its bubble (above, below, right, left, then the diagonals), on rings further and
further out, and takes the first whose box touches no label placed before it, no bubble and stays
inside the plot. Text size is estimated from its length and the font size (no browser here), with a
margin, so the real boxes are a little smaller than the ones kept apart.
"""

from __future__ import annotations

from collections.abc import Sequence

CHAR_WIDTH = 0.62  # average glyph width of a sans-serif font, in font sizes (a little generous)
LINE_HEIGHT = 1.35
PAD = 3.0  # px around each label's text
DIRECTIONS = ((0, 1), (0, -1), (1, 0), (-1, 0), (1, 1), (-1, 1), (1, -1), (-1, -1))

Box = tuple[float, float, float, float]  # left, bottom, right, top (px, y up)


def text_size(text: str, font_size: float) -> tuple[float, float]:
    """Estimated (width, height) in px of one line of `text` at `font_size` px, padding included."""
    return len(str(text)) * font_size * CHAR_WIDTH + 2 * PAD, font_size * LINE_HEIGHT + 2 * PAD


def label_box(cx: float, cy: float, size: tuple[float, float]) -> Box:
    """The box of a label of `size` centred at (cx, cy)."""
    w, h = size
    return cx - w / 2, cy - h / 2, cx + w / 2, cy + h / 2


def overlaps(a: Box, b: Box) -> bool:
    """Whether two boxes share any area (touching edges do not count)."""
    return a[0] < b[2] and b[0] < a[2] and a[1] < b[3] and b[1] < a[3]


def place_labels(x_px: Sequence[float], y_px: Sequence[float], radii: Sequence[float], texts: Sequence[str], *,
                 font_size: float = 12, bounds: tuple[float, float] | None = None, gap: float = 4,
                 rings: int = 16) -> list[tuple[float, float]]:
    """Offsets (dx, dy), in px with y up, from each point to the centre of its label.

    x_px, y_px: the points in px inside the plot area (origin bottom left); radii: each bubble's
    radius in px; bounds: the plot area's (width, height), labels are kept inside when they can be.
    Returns one offset per point, in the input order. When no ring has a free place (far more
    labels than room), the label takes the place where it overlaps the fewest others."""
    n = len(texts)
    sizes = [text_size(t, font_size) for t in texts]
    bubbles = [label_box(x_px[i], y_px[i], (2 * radii[i], 2 * radii[i])) for i in range(n)]
    order = sorted(range(n), key=lambda i: (-radii[i], str(texts[i]), i))
    placed: list[Box] = []
    out: list[tuple[float, float]] = [(0.0, 0.0)] * n
    for i in order:
        w, h = sizes[i]
        best, best_cost = None, None
        for ring in range(rings):
            for ux, uy in DIRECTIONS:
                # far enough that the box clears its own bubble, then one box step further per ring
                dx = ux * (radii[i] + gap + w / 2 + ring * (w / 2 if uy == 0 else w / 4))
                dy = uy * (radii[i] + gap + h / 2 + ring * h)
                box = label_box(x_px[i] + dx, y_px[i] + dy, (w, h))
                inside = bounds is None or (box[0] >= 0 and box[1] >= 0 and box[2] <= bounds[0] and box[3] <= bounds[1])
                cost = sum(overlaps(box, b) for b in placed) * 10 + sum(overlaps(box, b) for b in bubbles) + (
                    0 if inside else 100)
                if best_cost is None or cost < best_cost:
                    best, best_cost = (dx, dy, box), cost
                if cost == 0:
                    break
            if best_cost == 0:
                break
        dx, dy, box = best
        placed.append(box)
        out[i] = (dx, dy)
    return out
