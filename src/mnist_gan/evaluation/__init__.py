"""Sample quality in the feature space of a pinned MNIST classifier (TF-GAN style).

* :mod:`~mnist_gan.evaluation.metrics` - the metrics as pure numpy functions.
* :mod:`~mnist_gan.evaluation.classifier` - the shipped classifier and its features.
* :mod:`~mnist_gan.evaluation.evaluate` - the fixed protocol: reference statistics of the
  MNIST test set, :func:`evaluate_model`, :func:`evaluate_images`, the baselines.
* :mod:`~mnist_gan.evaluation.callback` - :class:`EvaluationCallback` for ``fit()``.
"""

from mnist_gan.evaluation.callback import EvaluationCallback
from mnist_gan.evaluation.classifier import features_and_probs, load_classifier
from mnist_gan.evaluation.evaluate import (
    ReferenceStatistics,
    compute_reference_statistics,
    evaluate_images,
    evaluate_model,
    noise_baseline,
    real_baseline,
    reference_statistics,
)

__all__ = [
    "EvaluationCallback",
    "ReferenceStatistics",
    "compute_reference_statistics",
    "evaluate_images",
    "evaluate_model",
    "features_and_probs",
    "load_classifier",
    "noise_baseline",
    "real_baseline",
    "reference_statistics",
]
