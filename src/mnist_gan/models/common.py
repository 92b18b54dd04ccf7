"""Small helpers shared by the network builders: the full-precision dtype of the layers that
must not run in reduced precision, and PyTorch-style batch norm."""

from __future__ import annotations

import keras
from keras import layers


def torch_batch_norm(
    name: str, gamma_initializer: str | keras.initializers.Initializer = "ones"
) -> layers.BatchNormalization:
    """BatchNormalization with PyTorch's defaults: running-average momentum 0.1, eps 1e-5.

    PyTorch's ``momentum=0.1`` weighs the new batch by 0.1, which is Keras's ``momentum=0.9``
    (Keras's own default, 0.99, would leave the inference statistics of a short run close to
    their initial values).
    """
    return layers.BatchNormalization(
        momentum=0.9, epsilon=1e-5, gamma_initializer=gamma_initializer, name=name
    )


def full_precision() -> str:
    """The dtype of the layers that must not run in reduced precision: the generator's output
    activation and the discriminator's logit (images leave the model in a fixed range; the losses
    and R1 see exact logits). float32, or float64 when Keras's dtype policy keeps variables in
    float64: the regression pins train every preset wholly in float64
    (``tests/test_regression.py``).
    """
    return "float64" if keras.config.dtype_policy().variable_dtype == "float64" else "float32"
