"""Sample quality in the feature space of a classifier trained for the data (TF-GAN style).

* :mod:`~mnist_gan.evaluation.metrics` - the metrics as pure numpy functions.
* :mod:`~mnist_gan.evaluation.classifier` - the classifier architecture and MNIST's shipped one.
* :mod:`~mnist_gan.evaluation.features` - each dataset's feature network (trained, cached).
* :mod:`~mnist_gan.evaluation.evaluate` - the protocol: reference statistics of a dataset's test
  split, :func:`evaluate_model`, :func:`evaluate_images`.
* :mod:`~mnist_gan.evaluation.baselines` - the real-data floor and the noise baseline.
* :mod:`~mnist_gan.evaluation.report` - ``mnist-gan evaluate``.
* :mod:`~mnist_gan.evaluation.callback` - :class:`EvaluationCallback` for ``fit()``.
"""

from mnist_gan.evaluation.baselines import noise_baseline, real_baseline
from mnist_gan.evaluation.callback import EvaluationCallback
from mnist_gan.evaluation.classifier import features_and_probs, load_classifier
from mnist_gan.evaluation.evaluate import (
    ReferenceStatistics,
    compute_reference_statistics,
    evaluate_images,
    evaluate_model,
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
