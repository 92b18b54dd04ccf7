"""Tests of mnist_gan.data."""
