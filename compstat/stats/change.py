"""Change between a period and its comparison: percent change and a Poisson change flag.

Percent change misleads on small counts: 2 robberies after 1 is "+100 %", yet such a
swing happens by chance all the time. Counts of independent events are close to
Poisson, and the square root stabilises a Poisson count's variance: for a count with
mean m, ``2·√n`` has a standard deviation close to 1 whatever m is. So

    z = 2 (√current − √prior)

is roughly standard normal when nothing changed. A change is flagged when |z| ≥ 2
(about 1 chance in 20 under no change) and strongly flagged when |z| ≥ 3 (about 1 in
370). For 1 → 2, z = 0.83: not flagged. For 40 → 62, z = 3.1: strongly flagged, though
its percent change (+55 %) is smaller than the first one's. The rule needs no
distributional fitting, works for a prior of zero (0 → 4 gives z = 4) and treats rises
and falls alike.
"""

from __future__ import annotations

import numpy as np
from numpy.typing import ArrayLike

__all__ = ["FLAG", "STRONG_FLAG", "change_flag", "change_z", "flag_labels", "pct_change"]

#: |z| at or above which a change is flagged, and strongly flagged.
FLAG = 2.0
STRONG_FLAG = 3.0


def pct_change(current: ArrayLike, prior: ArrayLike) -> np.ndarray:
    """Return ``100 (current − prior) / prior``, NaN where ``prior`` is 0 (undefined)."""
    current, prior = np.asarray(current, float), np.asarray(prior, float)
    out = np.full(np.broadcast(current, prior).shape, np.nan)
    np.divide(100.0 * (current - prior), prior, out=out, where=prior != 0)
    return out


def change_z(current: ArrayLike, prior: ArrayLike) -> np.ndarray:
    """Return the variance-stabilised Poisson change statistic ``2 (√current − √prior)``."""
    return 2.0 * (np.sqrt(np.asarray(current, float)) - np.sqrt(np.asarray(prior, float)))


def change_flag(z: ArrayLike) -> np.ndarray:
    """Return the flag level of each ``z``: ±2 strong, ±1 flagged, 0 not; NaN gives 0."""
    z = np.nan_to_num(np.asarray(z, float), nan=0.0)
    level = np.where(np.abs(z) >= STRONG_FLAG, 2, np.where(np.abs(z) >= FLAG, 1, 0))
    return (np.sign(z) * level).astype(np.int8)


#: Text of each flag level in outputs.
_LABELS = {2: "strong_increase", 1: "increase", 0: None, -1: "decrease", -2: "strong_decrease"}


def flag_labels(levels: ArrayLike) -> list[str | None]:
    """Return ``increase``, ``strong_increase``, ``decrease``, ``strong_decrease`` or None."""
    return [_LABELS[int(level)] for level in np.asarray(levels)]
