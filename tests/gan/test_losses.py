"""Each GAN loss against the formula computed by hand in numpy (float64)."""

import numpy as np
import pytest
import tensorflow as tf

from mnist_gan.gan import losses

REAL = np.array([[2.5], [-0.3], [0.0], [7.0]], np.float32)
FAKE = np.array([[-1.2], [0.4], [-9.0], [1.5]], np.float32)


def softplus(x):
    return np.log1p(np.exp(-np.abs(x))) + np.maximum(x, 0)


def neg_log_sigmoid(x):  # -log(sigmoid(x)): the cross-entropy of label 1
    return softplus(-np.asarray(x, np.float64))


def neg_log_one_minus_sigmoid(x):  # -log(1 - sigmoid(x)): the cross-entropy of label 0
    return softplus(np.asarray(x, np.float64))


def relu(x):
    return np.maximum(np.asarray(x, np.float64), 0)


@pytest.mark.parametrize("reduction, divisor", [("sum", 1.0), ("mean", 2.0)])
def test_bce_discriminator_loss(reduction, divisor):
    by_hand = (neg_log_sigmoid(REAL).mean() + neg_log_one_minus_sigmoid(FAKE).mean()) / divisor
    found = losses.discriminator_loss(tf.constant(REAL), tf.constant(FAKE), "bce", reduction)
    np.testing.assert_allclose(float(found), by_hand, rtol=1e-6)


@pytest.mark.parametrize("reduction, divisor", [("sum", 1.0), ("mean", 2.0)])
def test_hinge_discriminator_loss(reduction, divisor):
    by_hand = (relu(1 - REAL).mean() + relu(1 + FAKE).mean()) / divisor
    found = losses.discriminator_loss(tf.constant(REAL), tf.constant(FAKE), "hinge", reduction)
    np.testing.assert_allclose(float(found), by_hand, rtol=1e-6)


def test_generator_losses():
    bce = losses.generator_loss(tf.constant(FAKE), "bce")
    np.testing.assert_allclose(float(bce), neg_log_sigmoid(FAKE).mean(), rtol=1e-6)
    hinge = losses.generator_loss(tf.constant(FAKE), "hinge")
    np.testing.assert_allclose(float(hinge), -FAKE.astype(np.float64).mean(), rtol=1e-6)


def test_a_perfect_discriminator_has_near_zero_loss_and_a_fooled_one_a_large_one():
    sure = tf.constant([[20.0], [20.0]]), tf.constant([[-20.0], [-20.0]])
    assert float(losses.discriminator_loss(*sure)) < 1e-8
    assert float(losses.discriminator_loss(*sure, kind="hinge")) == 0.0
    assert float(losses.discriminator_loss(sure[1], sure[0])) > 39.0


def test_a_given_cross_entropy_is_used():
    calls = []

    def xent(labels, logits):
        calls.append(float(tf.reduce_mean(labels)))
        return tf.reduce_mean(logits)

    d = losses.discriminator_loss(tf.constant(REAL), tf.constant(FAKE), cross_entropy=xent)
    g = losses.generator_loss(tf.constant(FAKE), cross_entropy=xent)
    assert calls == [1.0, 0.0, 1.0]  # real labelled 1, fake 0; G wants its fakes labelled 1
    np.testing.assert_allclose(float(d), REAL.mean() + FAKE.mean(), rtol=1e-6)
    np.testing.assert_allclose(float(g), FAKE.mean(), rtol=1e-6)


def test_r1_penalty_of_a_linear_discriminator():
    # D(x) = sum(w * x): every image's input gradient is w, so the penalty is gamma/2 * |w|^2.
    rng = np.random.default_rng(0)
    w = rng.normal(size=(1, 4, 4, 1)).astype(np.float32)
    images = tf.constant(rng.normal(size=(3, 4, 4, 1)).astype(np.float32))
    with tf.GradientTape() as tape:
        tape.watch(images)
        total = tf.reduce_sum(images * w)
    penalty = losses.r1_penalty(tape.gradient(total, images), gamma=10.0)
    np.testing.assert_allclose(float(penalty), 5.0 * np.square(w.astype(np.float64)).sum(), 1e-6)


def test_r1_penalty_averages_over_images():
    grads = np.zeros((2, 2, 2, 1), np.float32)
    grads[0] = 1.0  # squared norm 4; the second image's is 0
    np.testing.assert_allclose(float(losses.r1_penalty(tf.constant(grads), 0.5)), 0.25 * 2.0)
