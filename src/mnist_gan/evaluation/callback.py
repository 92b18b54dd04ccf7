"""EvaluationCallback: sample-quality metrics every N epochs of ``fit()``, and the best model.

Usage::

    from mnist_gan.evaluation import EvaluationCallback

    history = gan.fit(data, epochs=20, callbacks=[
        EvaluationCallback(every_epochs=2, output_dir="outputs"),  # before TensorBoard
        keras.callbacks.TensorBoard("outputs/tb"),
    ])
    history.history["eval_frechet_distance"]      # one value per evaluated epoch

Cheap settings (the defaults): 2,000 samples from a fixed seed, KID over 10 subsets of 1,000,
precision/recall against the cached test-set statistics. On a 2-core CPU that adds a few
seconds per evaluation. Values at N = 2,000 are biased against the N = 10,000 protocol (the
Fréchet distance in particular is larger); compare them with each other, and score the final
model with ``mnist-gan evaluate`` for reportable numbers.

Logs: every metric of :data:`~mnist_gan.evaluation.evaluate.SCALAR_METRICS` is written into
the epoch's ``logs`` as ``eval_<name>``. Keras passes one ``logs`` dict through the callbacks
in list order and appends ``History`` last, so the values land in ``History`` always and in any
callback placed *after* this one (``TensorBoard``, ``CSVLogger``, the trainer's checkpoint
history). Like Keras's ``val_`` metrics with ``validation_freq``, the keys appear only in
evaluated epochs; :attr:`EvaluationCallback.records` (and ``eval_history.json``) pair each
evaluation with its epoch.

Best model: with ``output_dir`` set, whenever the Fréchet distance improves on the best so far,
the whole GAN is saved to ``output_dir/best_model.keras`` (written to a temporary file, then
renamed into place: never half-written) with ``best_eval.json`` beside it. A resumed run reads
``best_eval.json`` so an earlier, better model is not overwritten by a worse one.
"""

from __future__ import annotations

import json
import logging
import math
import os
from pathlib import Path
from typing import Any

import keras

from mnist_gan.data.datasets import ImageDataset
from mnist_gan.evaluation.evaluate import (
    SCALAR_METRICS,
    ReferenceStatistics,
    data_of,
    evaluate_model,
    reference_statistics,
)
from mnist_gan.files import atomic_write, write_text

log = logging.getLogger("mnist_gan")

PREFIX = "eval_"


class EvaluationCallback(keras.callbacks.Callback):
    """Score the generator every ``every_epochs`` epochs and keep the best one.

    Args:
        every_epochs: evaluate after epochs ``every_epochs``, ``2 * every_epochs``, ... (counted
            from 1, across resumed runs).
        num_samples: generated images per evaluation (2,000: cheap; the protocol uses 10,000).
        seed: noise seed; the same seed every time, so successive values compare one fixed
            batch of noise.
        output_dir: where ``best_model.keras``, ``best_eval.json`` and ``eval_history.json``
            go; None keeps everything in memory (:attr:`records`, :attr:`best`).
        reference: reference statistics; None uses the cached test-split statistics of
            ``data``.
        data: the dataset scored against (:class:`~mnist_gan.data.datasets.ImageDataset`);
            None: the one the model's data card names (MNIST when it has none).
        kid_subsets, kid_subset_size: KID settings (10 subsets of 1,000 by default).
        verbose: print one line per evaluation when > 0.
    """

    def __init__(
        self,
        every_epochs: int = 1,
        num_samples: int = 2000,
        seed: int = 0,
        output_dir: str | os.PathLike[str] | None = None,
        reference: ReferenceStatistics | None = None,
        kid_subsets: int = 10,
        kid_subset_size: int = 1000,
        verbose: int = 1,
        data: ImageDataset | None = None,
    ) -> None:
        super().__init__()
        if isinstance(every_epochs, bool) or not isinstance(every_epochs, int) or every_epochs < 1:
            raise ValueError(f"every_epochs must be a positive integer, got {every_epochs!r}")
        if num_samples < 2:
            raise ValueError(f"num_samples must be at least 2, got {num_samples!r}")
        self.every_epochs = every_epochs
        self.num_samples = num_samples
        self.seed = seed
        self.output_dir = Path(output_dir) if output_dir is not None else None
        self.reference = reference
        self.kid_subsets = kid_subsets
        self.kid_subset_size = kid_subset_size
        self.verbose = verbose
        self.data = data
        self.records: list[dict[str, Any]] = []
        self.best: dict[str, Any] | None = None  # {"epoch": ..., "frechet_distance": ..., ...}
        self.best_path: Path | None = None

    # ------------------------------------------------------------------ fit hooks
    def on_train_begin(self, logs: dict[str, Any] | None = None) -> None:
        if self.data is None:
            self.data = data_of(self.model)
        if self.reference is None:
            self.reference = reference_statistics(data=self.data)
        # A resumed run (optimizer steps already taken) continues the saved best; a fresh run
        # starts over even if an old best_eval.json is lying around.
        optimizer = getattr(self.model, "g_optimizer", None)
        resumed = optimizer is not None and int(optimizer.iterations.numpy()) > 0
        if self.output_dir is not None and self.best is None and resumed:
            best = _read_json(self.output_dir / "best_eval.json")
            if isinstance(best, dict) and (self.output_dir / "best_model.keras").is_file():
                self.best, self.best_path = best, self.output_dir / "best_model.keras"
            if not self.records:
                self.records = _read_json(self.output_dir / "eval_history.json") or []

    def on_epoch_end(self, epoch: int, logs: dict[str, Any] | None = None) -> None:
        if (epoch + 1) % self.every_epochs:
            return
        result = self.evaluate()
        result = {"epoch": epoch + 1, **result}
        if logs is not None:
            for name in SCALAR_METRICS:
                if result[name] is not None:  # class metrics: not in a fallback feature space
                    logs[PREFIX + name] = float(result[name])
        self.records = [r for r in self.records if r.get("epoch") != epoch + 1] + [result]
        fd = result["frechet_distance"]
        improved = math.isfinite(fd) and (
            self.best is None or fd < float(self.best.get("frechet_distance", math.inf))
        )
        if improved:
            self.best = result
        if self.output_dir is not None:
            self.output_dir.mkdir(parents=True, exist_ok=True)
            _write_json(self.output_dir / "eval_history.json", self.records)
            if improved:
                self._save_best()
        if self.verbose:
            classes = ""
            if result["classifier_score"] is not None:
                classes = (
                    f"  score {result['classifier_score']:.2f}  min share "
                    f"{result['smallest_class_share']:.3f}"
                )
            print(
                f"eval epoch {epoch + 1}: FD {fd:.3f}  KID {result['kid']:.4f}{classes}  "
                f"P/R {result['precision']:.2f}/{result['recall']:.2f}"
                + ("  (best)" if improved else "")
            )

    # ------------------------------------------------------------------ pieces
    def evaluate(self) -> dict[str, Any]:
        """Score the model now with this callback's settings; returns the metrics dict."""
        if self.data is None:
            self.data = data_of(self.model)
        if self.reference is None:
            self.reference = reference_statistics(data=self.data)
        return evaluate_model(
            self.model,
            self.num_samples,
            self.seed,
            reference=self.reference,
            kid_subsets=self.kid_subsets,
            kid_subset_size=self.kid_subset_size,
            data=self.data,
        )

    def _save_best(self) -> None:
        assert self.output_dir is not None and self.best is not None
        target = self.output_dir / "best_model.keras"
        try:
            with atomic_write(target) as tmp:
                self.model.save(tmp)
            _write_json(self.output_dir / "best_eval.json", self.best)
            self.best_path = target
        except Exception as err:  # noqa: BLE001 - never stop training for the best-model copy
            log.warning("could not save the best model to %s (%s)", target, err)


def _read_json(path: Path) -> Any:
    try:
        return json.loads(path.read_text())
    except (OSError, ValueError):
        return None


def _write_json(path: Path, data: Any) -> None:
    write_text(path, json.dumps(data, indent=1))
