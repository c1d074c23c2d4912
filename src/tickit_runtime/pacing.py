"""How often to look again at something that has not changed for a while.

A process that waits on another asks every so often, and every asking costs CPU on the same two cores as the
work it waits for. The longer the wait has lasted, the less a moment's delay in seeing its end matters: the pause
between two looks grows with it, as a share of the wait so far, within bounds. A short wait (the article's DAG
at scale 1) is looked at as briskly as before; a wait of minutes (scale 100) about once a second or two.
"""

from __future__ import annotations

# A fiftieth of the wait so far: seeing the end at most 2% later than it came (before the ceiling is reached).
SHARE_OF_WAIT = 0.02


def pause(brisk: float, waited: float, ceiling: float) -> float:
    """Seconds until the next look, `waited` seconds into a wait: `brisk` at first, then a share of the wait,
    never more than `ceiling` (nor less than `brisk`)."""
    return max(brisk, min(ceiling, waited * SHARE_OF_WAIT))
