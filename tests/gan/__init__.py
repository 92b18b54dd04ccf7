"""Tests of mnist_gan.gan."""
