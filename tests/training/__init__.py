"""Tests of mnist_gan.training."""
