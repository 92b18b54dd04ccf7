"""Tests of mnist_gan.outputs."""
