"""The GAN: :class:`~mnist_gan.gan.model.MNISTGAN` and what it is made of (EMA, sampling,
checkpoints, tf.distribute rules, rendering to uint8 28x28, latent walks, pretrained presets).

Import from the modules; this file imports nothing (no TensorFlow on ``import mnist_gan``).
"""
