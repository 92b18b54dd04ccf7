"""Training under ``tf.distribute``: the strategy, per-replica noise, loss scaling, reporting.

Under a strategy with N replicas each replica runs ``MNISTGAN.train_step`` on its own B/N
slice of the global batch B, and the gradients of the N replicas are **summed** before the
optimizer applies them. So a per-replica loss must be ``sum over its examples / B``:

- Keras ``Loss`` objects already do this (Keras >= 3.8 multiplies their mean over the local
  batch by 1/N: ``keras.src.losses.loss.scale_loss_for_distribution``; verified by
  ``tests/gan/test_distribute.py``);
- hand-written terms (the hinge means, the R1 penalty's mean) are scaled here, by
  :func:`scale_term`, exactly once;
- reported losses are the global value: :func:`global_value` sums the scaled per-replica
  losses, so the logs equal what one device reports for the same global batch.

With one replica (no strategy, ``default``, ``one-device``) every helper returns its input
unchanged: the single-device numbers stay bit-identical (``tests/test_regression.py``).
"""

from __future__ import annotations

import json
import logging
import os
from typing import Any

import keras
import tensorflow as tf

from mnist_gan.config import SETTINGS
from mnist_gan.errors import MNISTGANError
from mnist_gan.models import rng

STRATEGIES: tuple[str, ...] = SETTINGS["strategy"].choices or ()
_MADE: dict[tuple[str, ...], tf.distribute.Strategy] = {}

log = logging.getLogger("mnist_gan")


def make_strategy(name: str) -> tf.distribute.Strategy:
    """The ``tf.distribute`` strategy called ``name`` (one of :data:`STRATEGIES`).

    ``default``: TensorFlow's no-op strategy (one device, what plain Keras does);
    ``one-device``: everything on the first GPU, else the CPU; ``mirrored``: one replica per
    local GPU (or per logical CPU device); ``multi-worker``: ``MultiWorkerMirroredStrategy``,
    the cluster read from ``TF_CONFIG``; ``tpu``: ``TPUStrategy`` on the local TPU VM.
    """
    if name == "default":
        return tf.distribute.get_strategy()
    if name == "one-device":
        gpus = tf.config.list_logical_devices("GPU")
        return tf.distribute.OneDeviceStrategy(gpus[0].name if gpus else "/cpu:0")
    if name == "mirrored":
        devices = [d.name for d in tf.config.list_logical_devices("GPU")]
        if not devices:
            devices = [d.name for d in tf.config.list_logical_devices("CPU")]
        # One per process and device set: a second MirroredStrategy on the same devices starts
        # its collective instance keys over, and its all-reduces collide with the first's.
        key = ("mirrored", *devices)
        if key not in _MADE:
            _MADE[key] = tf.distribute.MirroredStrategy(devices)
        return _MADE[key]
    if name == "multi-worker":
        if not os.environ.get("TF_CONFIG"):
            raise MNISTGANError(
                "strategy 'multi-worker' needs TF_CONFIG (the cluster and this worker's index); "
                "see docs/distributed.md"
            )
        try:
            json.loads(os.environ["TF_CONFIG"])
        except ValueError as err:
            raise MNISTGANError(f"TF_CONFIG is not valid JSON ({err})") from None
        if ("multi-worker",) not in _MADE:  # TensorFlow allows one per process
            _MADE[("multi-worker",)] = tf.distribute.MultiWorkerMirroredStrategy()
        return _MADE[("multi-worker",)]
    if name == "tpu":
        try:
            resolver = tf.distribute.cluster_resolver.TPUClusterResolver(tpu="local")
            tf.config.experimental_connect_to_cluster(resolver)
            tf.tpu.experimental.initialize_tpu_system(resolver)
        except (ValueError, RuntimeError, tf.errors.OpError) as err:
            raise MNISTGANError(f"strategy 'tpu': no TPU found on this machine ({err})") from None
        return tf.distribute.TPUStrategy(resolver)
    raise MNISTGANError(f"strategy must be one of {', '.join(map(repr, STRATEGIES))}, got {name!r}")


def replicas(strategy: tf.distribute.Strategy | None = None) -> int:
    """Replicas that train in sync under ``strategy`` (default: the current one)."""
    strategy = strategy if strategy is not None else tf.distribute.get_strategy()
    return int(strategy.num_replicas_in_sync)


def check_global_batch(batch_size: int, strategy: tf.distribute.Strategy) -> int:
    """The per-replica batch of a global ``batch_size``; an error when it does not divide."""
    n = replicas(strategy)
    if batch_size % n:
        raise MNISTGANError(
            f"batch_size={batch_size} is the global batch and must divide by the {n} replicas "
            f"of the strategy (try {batch_size - batch_size % n or n})"
        )
    return batch_size // n


def xla_supported(strategy: tf.distribute.Strategy | None = None) -> bool:
    """Whether XLA can compile the step under ``strategy`` (default: the current one): not
    with replicas on several CPU devices of one process, where XLA cannot reach a replica's
    variables (https://www.tensorflow.org/xla/known_issues); GPUs and one device are fine."""
    strategy = strategy if strategy is not None else tf.distribute.get_strategy()
    if replicas(strategy) == 1:
        return True
    devices = strategy.extended.worker_devices
    return not (len(devices) > 1 and all("CPU" in device.upper() for device in devices))


def in_replicas() -> bool:
    """True inside a replica function of a strategy with more than one replica."""
    return (
        tf.distribute.has_strategy()
        and not tf.distribute.in_cross_replica_context()
        and replicas() > 1
    )


def replica_id() -> tf.Tensor:
    """This replica's index in its sync group (0 outside a strategy)."""
    return tf.distribute.get_replica_context().replica_id_in_sync_group


def replica_noise(
    seed_generator: keras.random.SeedGenerator, shape: tuple[Any, int], noise: str, xla: bool
) -> tf.Tensor:
    """Noise of ``shape`` for this replica: the generator's next seed with the replica id
    folded in (``normal``: N(0, 1), ``uniform``: U(-1, 1); ``xla``: see :func:`rng.noise`).

    Every replica advances its own copy of the generator's state in step, so each draws
    different noise and the stream stays reproducible from the model's seed.
    """
    seed = tf.cast(seed_generator.next(), "int64")
    seed = tf.random.experimental.stateless_fold_in(seed, tf.cast(replica_id(), "int64"))
    return rng.noise(shape, noise, seed, xla)


def scale_term(value: tf.Tensor) -> tf.Tensor:
    """A hand-written term (a mean over this replica's examples) divided by the replica count,
    so the summed gradients equal the single-device gradient of the global mean."""
    if not in_replicas():
        return value
    return value * tf.cast(1.0 / replicas(), value.dtype)


def global_value(value: tf.Tensor) -> tf.Tensor:
    """The global loss from a replica's scaled one: their sum over replicas (identity with
    one replica), what a single device reports for the same global batch."""
    if not in_replicas():
        return value
    return tf.distribute.get_replica_context().all_reduce("sum", value)


def loggable(logs: dict[str, Any]) -> dict[str, Any]:
    """``train_step``'s logs in a shape Keras can reduce across workers.

    Keras 3's ``fit`` reduces a multi-worker step's logs with
    ``strategy.reduce("MEAN", v, axis=0)``, which fails on the scalars every ``train_step``
    returns ("Invalid reduction dimension 0 for input with 0 dimensions";
    tensorflow/tensorflow#72388). Under ``MultiWorkerMirroredStrategy`` each log becomes a
    1-vector, which that reduction turns back into the (global) scalar; elsewhere ``logs`` is
    returned as it is.
    """
    strategy = tf.distribute.get_strategy()
    if not isinstance(strategy, tf.distribute.MultiWorkerMirroredStrategy):
        return logs
    return {name: tf.reshape(value, [1]) for name, value in logs.items()}


def synchronize_batch_norm(model: keras.Model, synchronized: bool = True) -> int:
    """Make every ``BatchNormalization`` of ``model`` use global (all-replica) batch statistics,
    or per-replica ones; returns how many layers it set. Without a strategy both are the same.
    """
    count = 0
    for layer in model.layers:
        if isinstance(layer, keras.Model):  # a nested model: its own layers
            count += synchronize_batch_norm(layer, synchronized)
        elif isinstance(layer, keras.layers.BatchNormalization):
            layer.synchronized = synchronized
            count += 1
    return count


def shard_by_data(dataset: tf.data.Dataset) -> tf.data.Dataset:
    """``dataset`` sharded by element across workers (an in-memory dataset has no files)."""
    options = tf.data.Options()
    options.experimental_distribute.auto_shard_policy = tf.data.experimental.AutoShardPolicy.DATA
    return dataset.with_options(options)


def set_cpu_threads(threads: int) -> None:
    """Use ``threads`` threads inside each TensorFlow op and between ops.

    Must run before TensorFlow executes its first op; later calls are ignored with a warning.
    """
    try:
        tf.config.threading.set_intra_op_parallelism_threads(threads)
        tf.config.threading.set_inter_op_parallelism_threads(threads)
    except RuntimeError:
        log.warning("threads=%d ignored: TensorFlow was already running", threads)
