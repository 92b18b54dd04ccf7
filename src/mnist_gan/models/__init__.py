"""Network builders, one module per design family (``dcgan``, ``mlp``, ``conv``, ``dcgan64``,
``fast``, ``conditional``; shared layers in ``common``, seeded dropout in ``rng``), and the
preset rows that pair settings with a builder (:mod:`mnist_gan.models.presets`).

Each builder returns a functional ``keras.Model``; import it from its module (e.g.
``from mnist_gan.models.dcgan import build_dcgan_generator``). This file imports nothing, so
the preset rows (read by the CLI's help) load without TensorFlow. The GAN that trains a pair
lives in :mod:`mnist_gan.gan.model`.
"""
