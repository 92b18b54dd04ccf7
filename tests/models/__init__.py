"""Tests of mnist_gan.models."""
