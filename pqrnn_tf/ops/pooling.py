"""Python API of the PqrnnFoPooling op (custom_ops/core/fo_pooling.h)."""
from __future__ import annotations

import tensorflow as tf

from pqrnn_tf.ops import _libraries

OP_NAME = "PqrnnFoPooling"  # its gradient is registered below, on import


def fo_pooling(u, f, sequence_length, reverse: bool = False):
  """QRNN fo-pooling over each sequence's valid steps.

  Forward: `c_t = f_t * c_{t-1} + u_t` for t < length (c_{-1} = 0);
  reverse: `c_t = f_t * c_{t+1} + u_t` from t = length - 1 down to 0.
  Steps at or past a sequence's length are 0. Differentiable in `u` and `f`.

  Args:
    u: float32 `[batch, time, units]`, the gated candidates `(1 - f) * z`.
    f: float32 `[batch, time, units]`, the forget gates.
    sequence_length: int32 `[batch]`, each in `[0, time]`.
    reverse: run from the last valid step to the first.

  Returns:
    float32 `[batch, time, units]`.
  """
  return _libraries.tf_ops().pqrnn_fo_pooling(
      u, f, tf.cast(sequence_length, tf.int32), reverse=reverse)


@tf.RegisterGradient(OP_NAME)
def _fo_pooling_gradient(op, grad):
  """The gradient of fo-pooling is fo-pooling in the other direction.

  With G_t = dL/dc_t in total: forward pooling gives G_t = g_t + f_{t+1} G_{t+1}
  (a reverse pooling with f shifted by one step), dL/du_t = G_t and
  dL/df_t = G_t * c_{t-1}; the reverse direction mirrors this.
  """
  u, f, lengths = op.inputs
  c = op.outputs[0]
  zeros = tf.zeros_like(u[:, :1])
  if op.get_attr("reverse"):
    f_shifted = tf.concat([zeros, f[:, :-1]], axis=1)
    c_before = tf.concat([c[:, 1:], zeros], axis=1)
  else:
    f_shifted = tf.concat([f[:, 1:], zeros], axis=1)
    c_before = tf.concat([zeros, c[:, :-1]], axis=1)
  total = fo_pooling(grad, f_shifted, lengths, reverse=not op.get_attr("reverse"))
  return total, total * c_before, None
