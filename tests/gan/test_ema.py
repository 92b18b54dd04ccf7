"""The EMA schedule as a pure function (the update itself: tests/test_ema_budget.py)."""

import numpy as np
import pytest

from mnist_gan.gan.ema import RAMPUP, ema_decay


@pytest.mark.parametrize(
    ("updates", "start", "expected"),
    [
        (1, 0, 1 - 1 / (1 + RAMPUP)),
        (3, 5, 0.0),  # before the start: a copy
        (5, 5, 0.0),
        (6, 5, 1 - 1 / (1 + RAMPUP)),
        (10**6, 0, 0.999),  # capped at the decay
    ],
)
def test_decay_schedule(updates, start, expected):
    assert float(ema_decay(np.int64(updates), 0.999, start)) == pytest.approx(expected, rel=1e-5)
