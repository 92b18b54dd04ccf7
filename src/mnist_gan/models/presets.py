"""The presets: each a row of settings paired with the builder of its networks.

Adding a design is one row here plus one builder module in ``mnist_gan.models``. A row fixes
the settings where the design differs from the declared defaults (``mnist_gan.config``); the
user may override any of them. The pixel range, the noise distribution and the generator's
output activation travel together: ``pixel_range`` is both the range real images are scaled to
and the range of the generator's output, so sampling, saving and evaluation never disagree.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from mnist_gan.config import SETTINGS, GANConfig, coerce
from mnist_gan.declarations import describe
from mnist_gan.errors import MNISTGANError

# The rows below import no TensorFlow: ``mnist_gan.config``, the CLI's help and its setting
# checks read them before (and without) TensorFlow, so each builder is looked up by name on
# first use (``_family()``) instead of imported at the top of this module.
Networks = tuple[Any, Any]  # (generator, discriminator): two keras.Model


def _family(name: str) -> Any:
    """The builder module ``mnist_gan.models.NAME`` (imports Keras), on first use."""
    return importlib.import_module(f"mnist_gan.models.{name}")


# dcgan64's generator widths by image side, mirrored from ``mnist_gan.models.dcgan64`` (which
# imports Keras); tests/test_cli.py checks the two agree.
DCGAN64_IMAGE_SIZES = (64, 32)


def output_activation(config: GANConfig) -> str:
    """The generator's last activation: it must land in ``config.pixel_range``."""
    return "sigmoid" if tuple(config.pixel_range) == (0.0, 1.0) else "tanh"


@dataclass(frozen=True)
class Preset:
    """One design: where it comes from, the settings it fixes and how its networks are built."""

    description: str
    origin: str
    build: Callable[[GANConfig], Networks]
    settings: dict[str, Any] = field(default_factory=dict)
    image_sizes: tuple[int, ...] = (28,)  # sides the design can be built at


def _cfast_networks(config: GANConfig, classes: int) -> Networks:
    """cfast's generator and projection discriminator over ``classes`` ids (digits or clusters)."""
    conditional = _family("conditional")
    return (
        conditional.build_cfast_generator(
            config.latent_dim,
            output_activation(config),
            classes,
            config.g_conditioning,
            resample=config.resample,
        ),
        conditional.build_cfast_discriminator(classes, resample=config.resample),
    )


# fast's settings, which cfast and sfast share (only the label and how the generator sees it
# differ).
FAST_SETTINGS: dict[str, Any] = {
    "batch_size": 64,
    "epochs": 30,
    "g_learning_rate": 2e-3,
    "d_learning_rate": 2e-3,
    "lr_decay_rate": 1.0,
    "beta_1": 0.0,
    "beta_2": 0.99,
    "r1_gamma": 0.5,
    "update": "simultaneous",
    # No XLA: with R1 and the EMA it cost 10 % more CPU per step here (docs/speed.md).
    "ema_decay": 0.999,
    "ema_start": 0,
    "sample_frequency": 500,
    # Stride-1 kernels and bfloat16 where the CPU has it: 1.3x faster steps, the same or
    # better Fréchet distance at 5 and 15 minutes (docs/results.md, issue 29). The recipe before
    # them: --resample strided --precision float32.
    "resample": "subpixel",
    "precision": "auto",
}

PRESETS: dict[str, Preset] = {
    "dcgan": Preset(
        "DCGAN 3x3x112 -> 28x28, TTUR 10:1 with LR decay (the default)",
        "Keras/TF DCGAN-on-MNIST notebooks (3x3x112 projection, 5x5 transposed convs)",
        lambda c: (
            _family("dcgan").build_dcgan_generator(c.latent_dim, output_activation(c)),
            _family("dcgan").build_dcgan_discriminator(c.image_size),
        ),
        # The declared defaults are this design. No XLA: under it a step of these
        # convolutions took 1.7x the CPU time on this CPU (docs/speed.md).
        {},
    ),
    "mlp": Preset(
        "fully connected GAN 256-512-1024 / 1024-512-256, uniform noise",
        "the classic vanilla GAN on MNIST (Keras/PyTorch tutorials: MLPs with LeakyReLU 0.2 and"
        " Dropout 0.3, U(-1, 1) noise, D loss averaged over real+fake); Adam lr 2e-4 for both"
        " with beta_1 0.5 (the design fixes only the lr; 0.5 is the usual GAN choice)",
        lambda c: (
            _family("mlp").build_mlp_generator(c.latent_dim, output_activation(c)),
            _family("mlp").build_mlp_discriminator(),
        ),
        {
            "noise": "uniform",
            "batch_size": 128,
            "epochs": 100,
            "d_learning_rate": 2e-4,
            "lr_decay_rate": 1.0,
            "d_loss_reduction": "mean",
            "sample_frequency": 0,
            "sample_every_epochs": 10,
            "jit_compile": True,  # speed only: 10 % less CPU per step (docs/speed.md)
        },
    ),
    "conv": Preset(
        "plain conv GAN: 7x7x100 -> ConvT 256/128 -> 28x28; D conv 64-128-256",
        "plain PyTorch convolutional GAN (4x4 stride-2 (transposed) convs, padding 1,"
        " BatchNorm); z is projected linearly to 7x7x100; Adam 2e-4 beta_1 0.5 for both,"
        " batch 128; the design gives no epoch count, so the package default of 50 applies",
        lambda c: (
            _family("conv").build_conv_generator(c.latent_dim, output_activation(c)),
            _family("conv").build_conv_discriminator(),
        ),
        {"batch_size": 128, "d_learning_rate": 2e-4, "lr_decay_rate": 1.0},
    ),
    "mlp-bn": Preset(
        "fully connected GAN with BatchNorm, z 64, sigmoid output in [0, 1]",
        "the 'first GAN' of the Coursera GANs specialisation (Dense+BatchNorm+ReLU generator,"
        " sigmoid output, z 64, Adam 1e-5 with PyTorch's default beta_1 0.9, D loss averaged"
        " over real and fake), with a 1024-512-256 discriminator",
        lambda c: (
            _family("mlp").build_mlp_bn_generator(c.latent_dim, output_activation(c)),
            _family("mlp").build_mlp_bn_discriminator(),
        ),
        {
            "latent_dim": 64,
            "pixel_range": (0.0, 1.0),
            "batch_size": 128,
            "epochs": 500,
            "g_learning_rate": 1e-5,
            "d_learning_rate": 1e-5,
            "lr_decay_rate": 1.0,
            "beta_1": 0.9,
            "d_loss_reduction": "mean",
            "sample_frequency": 300,
            "jit_compile": True,  # speed only
        },
    ),
    "dcgan64": Preset(
        "classic DCGAN 4x4 convs at 64x64 (image_size=32: one block less)",
        "Radford et al. 2015 as in the PyTorch DCGAN tutorial (N(0, 0.02) init, bias-free"
        " convs, BatchNorm, Adam 2e-4 beta_1 0.5, batch 128, its 5 epochs) on MNIST resized to"
        " 64x64; grids and exports are resized back to 28x28",
        lambda c: (
            _family("dcgan64").build_dcgan64_generator(
                c.latent_dim, output_activation(c), c.image_size
            ),
            _family("dcgan64").build_dcgan64_discriminator(c.image_size),
        ),
        {
            "image_size": 64,
            "batch_size": 128,
            "epochs": 5,
            "d_learning_rate": 2e-4,
            "lr_decay_rate": 1.0,
        },
        image_sizes=DCGAN64_IMAGE_SIZES,
    ),
    "fast": Preset(
        "slim DCGAN, Adam 2e-3 beta 0/0.99, R1 0.5, EMA: good digits soonest",
        "this package's recipe, chosen by measured Fréchet distance per CPU-minute"
        " (docs/fast_preset.md): a quarter of dcgan's discriminator cost, Adam 2e-3 with"
        " beta_1 0 and beta_2 0.99 for both networks (no 10:1 TTUR, no decay), R1 penalty"
        " gamma 0.5 on real images, batch 64, the simultaneous update, generator EMA 0.999",
        lambda c: (
            _family("fast").build_fast_generator(
                c.latent_dim, output_activation(c), resample=c.resample
            ),
            _family("fast").build_fast_discriminator(resample=c.resample),
        ),
        FAST_SETTINGS,
    ),
    "cgan": Preset(
        "keras-io conditional GAN: one-hot label beside z and as 10 image channels for D",
        "the keras-io conditional GAN example as published (z 128 + one-hot label -> Dense 7x7x138"
        " -> ConvT 128 x2 -> Conv 7x7 sigmoid; D on image + 10 label planes, Conv 64/128,"
        " global max pool; Adam 3e-4 for both with Keras's default betas, batch 64, 20 epochs,"
        " pixels in [0, 1], D loss over the real and fake batch together)",
        lambda c: (
            _family("conditional").build_cgan_generator(
                c.latent_dim, output_activation(c), c.num_classes
            ),
            _family("conditional").build_cgan_discriminator(c.num_classes),
        ),
        {
            "num_classes": 10,
            "latent_dim": 128,
            "pixel_range": (0.0, 1.0),
            "batch_size": 64,
            "epochs": 20,
            "g_learning_rate": 3e-4,
            "d_learning_rate": 3e-4,
            "lr_decay_rate": 1.0,
            "beta_1": 0.9,
            "d_loss_reduction": "mean",
            "fused_discriminator": True,
            "sample_frequency": 500,
        },
    ),
    "cfast": Preset(
        "fast made conditional: label embedding for G, projection discriminator",
        "this package's conditional recipe: the fast preset's networks, optimizer, R1, EMA and"
        " update, with the label given to the generator (an embedding beside z, or"
        " class-conditional batch norm) and a projection discriminator (Miyato & Koyama 2018);"
        " chosen by measurement (docs/conditional.md)",
        lambda c: _cfast_networks(c, c.num_classes),
        {
            **FAST_SETTINGS,
            "num_classes": 10,
            "g_conditioning": "both",  # measured best of concat/cbn/both (docs/conditional.md)
            # The stride-1 bfloat16 recipe took 9 % more steps in 15 minutes but ended at a
            # worse Fréchet distance (2.00 against 1.74, docs/results.md): cfast keeps the
            # stride-2 float32 one (--resample subpixel --precision auto gives the other).
            "resample": "strided",
            "precision": "float32",
        },
    ),
    "sfast": Preset(
        "cfast on k-means clusters instead of labels: unconditional, never reads the labels",
        "the self-conditioned GAN (Liu et al., CVPR 2020) in its cheap form: PCA of the pixels"
        " and k-means group the training images once before training; cfast's networks and"
        " recipe are trained on the cluster ids, and sampling draws the id from the noise by"
        " the clusters' real frequencies (docs/presets.md)",
        lambda c: _cfast_networks(c, c.clusters),  # cluster ids where cfast has digits
        # 100 clusters: better at 5 and 15 minutes on two seeds than 30 (docs/results.md)
        {**FAST_SETTINGS, "clusters": 100, "g_conditioning": "both"},
    ),
}


def make_config(preset: str = "dcgan", **overrides: Any) -> GANConfig:
    """Settings for ``preset`` with ``overrides`` applied on top, validated.

    Raises :class:`MNISTGANError` for an unknown preset, an unknown setting name, a bad value or
    an image size the design cannot be built at. ``None`` overrides are ignored, so CLI flags
    left unset keep the preset's default.
    """
    if preset not in PRESETS:
        raise MNISTGANError(f"unknown preset {preset!r}; choose one of: {', '.join(PRESETS)}")
    unknown = sorted(set(overrides) - set(SETTINGS))
    if unknown:
        raise MNISTGANError(
            f"unknown setting(s) {', '.join(unknown)}; "
            f"known settings: {', '.join(sorted(SETTINGS))}"
        )
    values = {**PRESETS[preset].settings, **{k: v for k, v in overrides.items() if v is not None}}
    values = {name: coerce(name, value) for name, value in values.items() if name != "preset"}
    config = GANConfig(preset=preset, **values).validate()
    conditional = PRESETS[preset].settings.get("num_classes", 0) > 0
    if (config.num_classes > 0) != conditional:
        raise MNISTGANError(
            f"preset {preset!r} is {'' if conditional else 'un'}conditional: num_classes "
            f"must be {'> 0' if conditional else '0'}, got {config.num_classes}"
        )
    clustered = PRESETS[preset].settings.get("clusters", 0) > 0
    if (config.clusters > 0) != clustered:
        raise MNISTGANError(
            f"clusters is a setting of sfast: preset {preset!r} needs clusters "
            f"{'> 0' if clustered else '0'}, got {config.clusters}"
        )
    sizes = PRESETS[preset].image_sizes
    if config.image_size not in sizes:
        raise MNISTGANError(
            f"preset {preset!r} works at image_size {' or '.join(map(str, sizes))}, "
            f"got {config.image_size}"
        )
    return config


def build_networks(config: GANConfig) -> Networks:
    """Build the (generator, discriminator) pair that ``config.preset`` names, in the compute
    dtype ``config.precision`` means on this machine (:mod:`mnist_gan.models.precision`)."""
    from mnist_gan.models.precision import network_dtypes

    with network_dtypes(config.precision):
        return PRESETS[config.preset].build(config)


def preset_defaults(name: str) -> str:
    """How the presets set one setting, for its CLI help: the default and where rows differ."""
    spec = SETTINGS[name]
    shown = "unset" if spec.default is None else _show(spec.default)
    rows = [
        f"{preset} {_show(row.settings[name])}"
        for preset, row in PRESETS.items()
        if name in row.settings and row.settings[name] != spec.default
    ]
    return f"default {shown}" + (f"; {', '.join(rows)}" if rows else "")


def settings_markdown() -> str:
    """The settings table of ``docs/settings.md``, generated from the declarations."""
    lines = [
        "| setting | CLI flag | scope | accepts | default (presets that differ) | what it does |",
        "|---|---|---|---|---|---|",
    ]
    for name, spec in SETTINGS.items():
        flag = f"`{spec.flag}`" if spec.internal is None else f"(internal: {spec.internal})"
        accepts = f"one of {', '.join(PRESETS)}" if name == "preset" else describe(spec)
        lines.append(
            f"| `{name}` | {flag} | {spec.scope} | {accepts} | {preset_defaults(name)} "
            f"| {spec.help} |"
        )
    return "\n".join(lines) + "\n"


def _show(value: Any) -> str:
    if isinstance(value, bool):
        return "on" if value else "off"
    if isinstance(value, float):
        return f"{value:g}"
    if isinstance(value, tuple):
        return " ".join(_show(v) for v in value)
    return str(value)
