"""Training a GAN: :class:`~mnist_gan.training.trainer.GANTrainer` (resume, plan, fit, finish),
its callbacks, TensorBoard images, progress lines and fine-tuning from trained weights.

Import from the modules; this file imports nothing.
"""
