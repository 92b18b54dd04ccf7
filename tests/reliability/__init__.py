"""Tests of mnist_gan.reliability."""
