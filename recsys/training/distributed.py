"""Training on several devices or machines with TensorFlow's own runtime (``tf.distribute``).

``python -m recsys train --strategy mirrored [--cpu-devices N]`` trains one model on all local
devices (every GPU, or N logical CPU devices carved out of the processor, which is how this
runs on a laptop): ``tf.distribute.MirroredStrategy``. ``--strategy multiworker`` runs the
same training on several machines: start the same command on each, with ``TF_CONFIG``
describing the cluster and which worker this is, and ``tf.distribute.MultiWorkerMirroredStrategy``
keeps the copies in step over gRPC::

    TF_CONFIG='{"cluster": {"worker": ["host1:12345", "host2:12345"]},
                "task": {"type": "worker", "index": 0}}' python -m recsys train --strategy multiworker

How a step is shared (data parallelism). Every replica holds a copy of all weights. Each
global batch of B rows is cut into N contiguous shards of B/N rows, one per replica (every
worker reads the same batch order from the same seed and keeps its own shards, so no data
is sent around). Each replica computes the loss of its shard and its gradients; the
optimizer *sums* the gradients of all replicas (an all-reduce) and every replica applies the
same update, so the copies stay identical.

What changes, and why it is only approximately the same training: the loss is
``tfrs.tasks.Retrieval``'s in-batch softmax, a SUM over rows whose negatives are *the other
rows of the batch*. A replica only sees its own B/N rows, so each row is scored against
B/N candidates instead of B: fewer (and different) negatives. The summed per-replica losses
are therefore *smaller* than the single-device loss of the same global batch (a log-sum-exp
over a subset of the candidates is smaller), and the gradients differ a little. With N = 2
and B = 4,096 each row still meets ~2,000 negatives, so the metrics match single-device
training to within seed-to-seed noise (see tests/test_distributed.py); with many replicas
and small batches they would drift apart, and the usual remedy is a larger global batch.
Because the loss is a sum, no 1/N rescaling is needed: summing the replicas' gradients gives
the gradient of the summed loss, as on one device.
"""
from __future__ import annotations

import json
import os

from recsys.errors import UserError

STRATEGIES = ("default", "mirrored", "multiworker")


def configure_cpu_devices(n: int) -> None:
    """Split the processor into ``n`` logical CPU devices (before TensorFlow starts its runtime).

    TensorFlow fixes its device list the first time it runs anything, so this must be the
    first TensorFlow call of the process; afterwards it is only accepted if the devices
    already are what was asked for.
    """
    import tensorflow as tf

    if not 1 <= n <= 64:
        raise UserError(f"--cpu-devices must be between 1 and 64, got {n}")
    cpu = tf.config.list_physical_devices("CPU")[0]
    try:
        tf.config.set_logical_device_configuration(cpu, [tf.config.LogicalDeviceConfiguration()] * n)
    except RuntimeError:
        have = len(tf.config.list_logical_devices("CPU"))
        if have != n:
            raise UserError(f"TensorFlow has already started with {have} CPU device(s); --cpu-devices {n} "
                            "must be set before anything else runs in the process") from None


def tf_config() -> dict:
    """``TF_CONFIG`` parsed and checked: a cluster with workers and this process's task."""
    raw = os.environ.get("TF_CONFIG", "")
    if not raw.strip():
        raise UserError("--strategy multiworker needs TF_CONFIG, e.g. "
                        '{"cluster": {"worker": ["host1:12345", "host2:12345"]}, "task": {"type": "worker", "index": 0}}')
    try:
        conf = json.loads(raw)
        cluster, task = conf["cluster"], conf["task"]
        kind, index = task["type"], int(task["index"])
        members = cluster[kind]
    except (ValueError, KeyError, TypeError) as e:
        raise UserError(f"TF_CONFIG is not valid ({type(e).__name__}: {e}); it needs "
                        '"cluster" (lists of "host:port") and "task" ({"type": ..., "index": ...})') from None
    if not isinstance(members, list) or not 0 <= index < len(members):
        raise UserError(f"TF_CONFIG: task {kind}[{index}] is not in the cluster's {kind} list")
    for addr in (a for group in cluster.values() for a in (group if isinstance(group, list) else [group])):
        host, _, port = str(addr).rpartition(":")
        if not host or not port.isdigit():
            raise UserError(f"TF_CONFIG: {addr!r} is not host:port")
    return conf


def is_chief(strategy) -> bool:
    """True on the one process that saves results (the chief, or worker 0 without a chief)."""
    resolver = getattr(strategy, "cluster_resolver", None)
    if resolver is None or not getattr(resolver, "cluster_spec", None) or not resolver.cluster_spec().as_dict():
        return True
    kind, index = resolver.task_type, resolver.task_id
    return kind == "chief" or (kind == "worker" and index == 0 and "chief" not in resolver.cluster_spec().as_dict())


def is_multiworker(strategy) -> bool:
    import tensorflow as tf

    return isinstance(strategy, tf.distribute.MultiWorkerMirroredStrategy)


def make_strategy(kind: str = "default", cpu_devices: int | None = None):
    """The ``tf.distribute`` strategy for ``kind`` (None for plain single-device training).

    Call it before any other TensorFlow work in the process: logical CPU devices and the
    multi-worker runtime can only be set up before TensorFlow initialises its devices.
    """
    if kind not in STRATEGIES:
        raise UserError(f"unknown strategy {kind!r}; choose one of {', '.join(STRATEGIES)}")
    if cpu_devices is not None and kind != "mirrored":
        raise UserError("--cpu-devices applies to --strategy mirrored (one replica per logical CPU device)")
    if kind == "default":
        return None
    import tensorflow as tf

    if kind == "mirrored":
        if cpu_devices is not None:
            configure_cpu_devices(cpu_devices)
            devices = [d.name for d in tf.config.list_logical_devices("CPU")]
            return tf.distribute.MirroredStrategy(devices=devices,
                                                  cross_device_ops=tf.distribute.ReductionToOneDevice())
        return tf.distribute.MirroredStrategy()
    tf_config()  # fail with a readable message before TensorFlow's own parser does
    options = tf.distribute.experimental.CommunicationOptions(
        implementation=tf.distribute.experimental.CommunicationImplementation.RING)
    return tf.distribute.MultiWorkerMirroredStrategy(communication_options=options)


def describe(strategy) -> str:
    """A short tag such as ``mirrored x2`` (empty for single-device training): part of the run id."""
    if strategy is None:
        return ""
    kind = "multiworker" if is_multiworker(strategy) else "mirrored"
    return f"{kind} x{strategy.num_replicas_in_sync}"


def build(strategy, model, n_users: int, n_movies: int) -> None:
    """Create the model's and the optimizer's variables now, under the strategy's scope.

    Keras would create them on the first step, inside ``strategy.run``; creating them up
    front makes every variable a mirrored variable from the start.
    """
    with strategy.scope():
        model.vectors(min(n_users, 1), min(n_movies, 1))
        model.optimizer.build(model.trainable_variables)


def step_function(strategy, model):
    """A compiled training step on a *global* batch: each replica trains on its shard.

    Replica i of N takes rows [i*B/N, (i+1)*B/N) of the batch and runs the model's own
    ``train_step`` (loss, gradients, and the optimizer, which all-reduces the gradients);
    the per-replica losses are summed into the batch's loss.
    """
    import tensorflow as tf

    def replica_step(batch):
        ctx = tf.distribute.get_replica_context()
        i, n = ctx.replica_id_in_sync_group, ctx.num_replicas_in_sync
        size = tf.shape(batch["user_idx"])[0]
        lo, hi = (size * i) // n, (size * (i + 1)) // n
        return model.train_step({k: v[lo:hi] for k, v in batch.items()})["total_loss"]

    spec = {"user_idx": tf.TensorSpec([None], tf.int32), "title_idx": tf.TensorSpec([None], tf.int32)}

    @tf.function(input_signature=[spec], autograph=False)  # as train.step_function: no op needs AutoGraph
    def step(batch):
        losses = strategy.run(replica_step, args=(batch,))
        return {"total_loss": strategy.reduce(tf.distribute.ReduceOp.SUM, losses, axis=None)}

    return step
