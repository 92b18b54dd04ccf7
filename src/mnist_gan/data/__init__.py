"""MNIST in and pixels out: sources (online, cache, offline mirror, IDX/npz readers), the
tf.data pipelines that feed training, and images (uint8 pixels, grids, PNGs, loss curves).

Import from the modules (``mnist_gan.data.sources``, ``.pipeline``, ``.images``): this file
imports nothing, so ``import mnist_gan.data.images`` stays free of TensorFlow.
"""
