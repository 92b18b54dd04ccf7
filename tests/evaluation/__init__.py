"""Tests of mnist_gan.evaluation."""
