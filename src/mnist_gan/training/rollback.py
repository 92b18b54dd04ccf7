"""A diverged run: stop with the reason, or roll back to the last good checkpoint at lower learning
rates (``on_divergence="rollback"``; docs/reliability.md)."""

from __future__ import annotations

import contextlib
import dataclasses
import json
import logging
from typing import TYPE_CHECKING, Any

from mnist_gan.errors import MNISTGANError
from mnist_gan.files import write_text
from mnist_gan.reliability.divergence import divergence_message
from mnist_gan.training.rundir import compatible_checkpoint

if TYPE_CHECKING:
    from mnist_gan.training.trainer import GANTrainer

log = logging.getLogger("mnist_gan")


def roll_back(trainer: GANTrainer, diverged: dict[str, Any]) -> None:
    """After a non-finite loss: raise (``on_divergence`` stop, or out of rollbacks), or
    reload ``trainer``'s newest good checkpoint with both learning rates lowered, logged in
    ``history.json`` under ``rollbacks``; the trainer then fits on from there."""
    c = trainer.config
    message = divergence_message(diverged, c.g_learning_rate, c.d_learning_rate)
    done = list(trainer.history.get("rollbacks", []))
    if c.on_divergence != "rollback":
        raise MNISTGANError(message)
    if len(done) >= c.max_rollbacks:
        raise MNISTGANError(f"{message}\n({len(done)} rollbacks did not help)")
    checkpoint = compatible_checkpoint(trainer.output_dir, trainer.config)
    if checkpoint is None:
        raise MNISTGANError(f"{message}\n(no checkpoint to roll back to yet)")
    trainer.config = dataclasses.replace(
        c,
        g_learning_rate=c.g_learning_rate * c.rollback_factor,
        d_learning_rate=c.d_learning_rate * c.rollback_factor,
    )
    trainer.gan = None
    trainer.resume(checkpoint)  # a fresh model with the lower rates, the checkpoint's weights
    for optimizer, rate in (
        (trainer.gan.g_optimizer, trainer.config.g_learning_rate),
        (trainer.gan.d_optimizer, trainer.config.d_learning_rate),
    ):
        # The checkpoint restored the old rate; a decay schedule (Keras refuses to set it:
        # TypeError) already took the lowered rates from the config.
        with contextlib.suppress(TypeError):
            optimizer.learning_rate = rate
    record = {
        **diverged,
        "value": str(diverged.get("value")),
        "resumed_from": str(checkpoint),
        "g_learning_rate": trainer.config.g_learning_rate,
        "d_learning_rate": trainer.config.d_learning_rate,
    }
    trainer.history["rollbacks"] = [*done, record]
    write_text(trainer.output_dir / "history.json", json.dumps(trainer.history, indent=1))
    log.warning(
        "training diverged at step %s (%s = %s); rolled back to %s with learning rates "
        "G %.3g / D %.3g (rollback %d of %d)",
        diverged.get("step"),
        diverged.get("loss"),
        diverged.get("value"),
        checkpoint,
        trainer.config.g_learning_rate,
        trainer.config.d_learning_rate,
        len(done) + 1,
        c.max_rollbacks,
    )
