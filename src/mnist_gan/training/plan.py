"""Which ``fit`` calls a run still needs, so that a resumed run sees the data as one run would."""

from __future__ import annotations

from dataclasses import dataclass

from mnist_gan.errors import MNISTGANError


@dataclass
class Phase:
    """One ``fit`` call: epochs ``first`` to ``last`` (exclusive), skipping ``skip`` batches."""

    first: int
    last: int
    skip: int


def plan_phases(
    completed_epochs: int,
    steps_into_epoch: int,
    epochs: int,
    steps_per_epoch: int,
    steps_per_execution: int = 1,
) -> list[Phase]:
    """The ``fit`` calls left: a run stopped mid-epoch first finishes that epoch (skipping the
    batches it already saw), then trains the remaining epochs up to ``epochs``; the data order
    is the same as in one go. :class:`MNISTGANError` when ``steps_per_execution`` does not
    divide an epoch."""
    if steps_per_epoch % steps_per_execution:
        raise MNISTGANError(
            f"steps_per_execution={steps_per_execution} must divide the {steps_per_epoch} steps "
            "of an epoch"
        )
    skip = min(steps_into_epoch, steps_per_epoch - 1)
    done = completed_epochs
    phases = [Phase(done, done + 1, skip)] if skip else []
    if done + (1 if skip else 0) < epochs:
        phases.append(Phase(done + (1 if skip else 0), epochs, 0))
    return phases
