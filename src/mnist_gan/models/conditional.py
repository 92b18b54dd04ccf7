"""Class-conditional designs: both networks also take the digit, an int label of shape (batch,).

``cgan``: the keras-io conditional GAN as published (``conditional_gan.py``): the generator sees
z (128) concatenated with the one-hot label, Dense 7x7x138 -> LeakyReLU -> two ConvT 128 4x4
stride 2 -> Conv 1 7x7 sigmoid; the discriminator sees the image with the one-hot label
broadcast to 10 extra channels, Conv 64 / 128 3x3 stride 2 with LeakyReLU 0.2, global max
pooling, Dense 1 (a logit).

``cfast``: the ``fast`` networks made conditional. The generator either concatenates a learned
label embedding to z (``concat``) or uses class-conditional batch norm, whose per-digit scale
and shift come from embeddings (``cbn``), or both; the discriminator is a projection
discriminator (Miyato & Koyama 2018): ``logit = w . phi(x) + <embed(y), phi(x)>`` on the
features ``phi`` of ``fast``'s convolutions.
"""

from __future__ import annotations

import keras
from keras import layers

from mnist_gan.models.common import full_precision
from mnist_gan.models.fast import fast_features
from mnist_gan.models.resample import upsample


def _label_input() -> keras.KerasTensor:
    return keras.Input(shape=(), dtype="int32", name="label")


def build_cgan_generator(
    latent_dim: int = 128, output_activation: str = "sigmoid", num_classes: int = 10
) -> keras.Model:
    """keras-io conditional generator: ``[z (batch, latent_dim), label (batch,)]`` -> images."""
    z, label = keras.Input(shape=(latent_dim,), name="z"), _label_input()
    one_hot = layers.CategoryEncoding(num_classes, output_mode="one_hot", name="one_hot")(label)
    x = layers.Concatenate(name="z_and_label")([z, one_hot])
    width = latent_dim + num_classes
    x = layers.Dense(7 * 7 * width, name="project")(x)
    x = layers.LeakyReLU(negative_slope=0.2, name="lrelu0")(x)
    x = layers.Reshape((7, 7, width), name="reshape")(x)
    for i in (1, 2):
        x = layers.Conv2DTranspose(128, 4, strides=2, padding="same", name=f"deconv{i}")(x)
        x = layers.LeakyReLU(negative_slope=0.2, name=f"lrelu{i}")(x)
    x = layers.Conv2D(1, 7, padding="same", name="to_image")(x)
    image = layers.Activation(output_activation, dtype=full_precision(), name="image")(x)
    return keras.Model([z, label], image, name="cgan_generator")


def build_cgan_discriminator(num_classes: int = 10) -> keras.Model:
    """keras-io conditional discriminator: ``[image (batch, 28, 28, 1), label]`` -> logits."""
    image, label = keras.Input(shape=(28, 28, 1), name="image"), _label_input()
    one_hot = layers.CategoryEncoding(num_classes, output_mode="one_hot", name="one_hot")(label)
    planes = layers.Reshape((1, 1, num_classes), name="label_planes")(one_hot)
    planes = layers.UpSampling2D(28, name="broadcast")(planes)  # (28, 28, num_classes)
    x = layers.Concatenate(name="image_and_label")([image, planes])
    x = layers.Conv2D(64, 3, strides=2, padding="same", name="conv1")(x)
    x = layers.LeakyReLU(negative_slope=0.2, name="lrelu1")(x)
    x = layers.Conv2D(128, 3, strides=2, padding="same", name="conv2")(x)
    x = layers.LeakyReLU(negative_slope=0.2, name="lrelu2")(x)
    x = layers.GlobalMaxPooling2D(name="pool")(x)
    logit = layers.Dense(1, dtype=full_precision(), name="logit")(x)
    return keras.Model([image, label], logit, name="cgan_discriminator")


def _conditional_batch_norm(x, label, num_classes: int, name: str):
    """Batch norm whose scale and shift are looked up per digit (class-conditional BN)."""
    channels = x.shape[-1]
    x = layers.BatchNormalization(center=False, scale=False, name=name)(x)
    gamma = layers.Embedding(
        num_classes, channels, embeddings_initializer="ones", name=f"{name}_gamma"
    )(label)
    beta = layers.Embedding(
        num_classes, channels, embeddings_initializer="zeros", name=f"{name}_beta"
    )(label)
    gamma = layers.Reshape((1, 1, channels), name=f"{name}_gamma_map")(gamma)
    beta = layers.Reshape((1, 1, channels), name=f"{name}_beta_map")(beta)
    return layers.Add(name=f"{name}_shift")(
        [layers.Multiply(name=f"{name}_scale")([x, gamma]), beta]
    )


def build_cfast_generator(
    latent_dim: int = 100,
    output_activation: str = "tanh",
    num_classes: int = 10,
    conditioning: str = "concat",
    width: int = 64,
    embedding_dim: int = 16,
    resample: str = "strided",
) -> keras.Model:
    """``fast``'s generator taking ``[z, label]``; ``conditioning``: concat, cbn or both."""
    z, label = keras.Input(shape=(latent_dim,), name="z"), _label_input()
    x = z
    if conditioning in ("concat", "both"):
        embedded = layers.Embedding(num_classes, embedding_dim, name="label_embedding")(label)
        x = layers.Concatenate(name="z_and_label")([z, embedded])
    x = layers.Dense(7 * 7 * width, use_bias=False, name="project")(x)
    x = layers.Reshape((7, 7, width), name="reshape")(x)
    cbn = conditioning in ("cbn", "both")

    def norm(x, name):
        if cbn:
            return _conditional_batch_norm(x, label, num_classes, name)
        return layers.BatchNormalization(name=name)(x)

    x = layers.LeakyReLU(negative_slope=0.2, name="lrelu0")(norm(x, "bn0"))
    x = upsample(x, width // 2, resample, "deconv1", use_bias=False)
    x = layers.LeakyReLU(negative_slope=0.2, name="lrelu1")(norm(x, "bn1"))
    x = upsample(x, 1, resample, "deconv2")
    image = layers.Activation(output_activation, dtype=full_precision(), name="image")(x)
    return keras.Model([z, label], image, name="cfast_generator")


def build_cfast_discriminator(
    num_classes: int = 10, width: int = 32, resample: str = "strided"
) -> keras.Model:
    """Projection discriminator on ``fast``'s features: ``[image, label]`` -> logits."""
    image, label = keras.Input(shape=(28, 28, 1), name="image"), _label_input()
    features = fast_features(image, width, resample)
    unconditional = layers.Dense(1, dtype=full_precision(), name="logit")(features)
    embedded = layers.Embedding(num_classes, features.shape[-1], name="projection")(label)
    projection = layers.Dot(axes=1, name="project_label")([embedded, features])
    logit = layers.Add(dtype=full_precision(), name="projected_logit")([unconditional, projection])
    return keras.Model([image, label], logit, name="cfast_discriminator")
