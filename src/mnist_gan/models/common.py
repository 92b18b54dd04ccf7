"""Small layer helpers shared by the builders of designs that come from PyTorch."""

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
