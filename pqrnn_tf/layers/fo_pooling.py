"""fo-pooling, the recurrence of a QRNN (Bradbury et al., 2017)."""
from __future__ import annotations

import tensorflow as tf


def fo_pool(z, f, c0=None, unroll: bool = False, reverse: bool = False):
  """fo-pooling: `c_t = f_t * c_{t-1} + (1 - f_t) * z_t` along axis 1.

  The only sequential part of a QRNN. Everything that does not depend on
  `c_{t-1}` (`u_t = (1 - f_t) * z_t`) is computed for all steps at once, so a
  step is one multiply and one add.

  Two implementations give the same values and gradients:

  * `unroll=False`: a `tf.scan` over time (a `tf.while_loop` with
    TensorArrays). Works for any, including unknown, time length.
  * `unroll=True`: one Python loop iteration per step, giving a straight-line
    graph of elementwise ops (`UNPACK`, `MUL`, `ADD`, `PACK` in TFLite). Needs
    a static time length. It converts to TFLite with builtin ops only (no
    control flow, every tensor can get its own int8 scale; the TFLite int8
    calibrator crashes on the `WHILE` loop of the scan), at a cost fixed by
    that length: `QRNN(implementation="unrolled")`.

  `fo_pool_log_depth` is a third form for static lengths, builtin ops only
  and a cost logarithmic in the length: what portable exports run.

  Neither is what pQRNN models export by default: `QRNN(implementation="op")`
  runs the `PqrnnFoPooling` custom op (`pqrnn_tf.ops.pooling`), the same in TF
  and TFLite, over each sentence's valid steps only. These two are the
  reference for it and the builtin-ops alternative.

  With `reverse=True` the recurrence runs from the last step to the first:
  `c_t = f_t * c_{t+1} + (1 - f_t) * z_t`, with `c_{time} = c0` (so a backward
  direction needs no time reversal op).

  Args:
    z: float tensor `[batch, time, units]`, the candidates.
    f: float tensor `[batch, time, units]`, the forget gates in `[0, 1]`.
    c0: optional float tensor `[batch, units]`, the state entering the first
      processed step (step 0, or the last step with `reverse=True`).
      Defaults to zeros.
    unroll: whether to unroll the loop over time (see above).
    reverse: whether to run from the last step to the first.

  Returns:
    Float tensor `[batch, time, units]`: `c_t` for every step.

  Raises:
    ValueError: `unroll=True` and the time length is not static.

  Example:

  >>> z = tf.ones([1, 3, 1])
  >>> f = tf.fill([1, 3, 1], 0.5)
  >>> fo_pool(z, f)[0, :, 0].numpy()
  array([0.5  , 0.75 , 0.875], dtype=float32)
  """
  z = tf.convert_to_tensor(z)
  f = tf.convert_to_tensor(f, dtype=z.dtype)
  u = (1.0 - f) * z
  if unroll:
    return _fo_pool_unrolled(u, f, c0, reverse)
  return _fo_pool_scan(u, f, c0, reverse)


def _fo_pool_scan(u, f, c0, reverse):
  u_tm = tf.transpose(u, [1, 0, 2])
  f_tm = tf.transpose(f, [1, 0, 2])
  if c0 is None:
    c0 = tf.zeros_like(u[:, 0, :])
  else:
    c0 = tf.convert_to_tensor(c0, dtype=u.dtype)
  c_tm = tf.scan(lambda c, uf: uf[1] * c + uf[0], (u_tm, f_tm),
                 initializer=c0, reverse=reverse)
  return tf.transpose(c_tm, [1, 0, 2])


def _fo_pool_unrolled(u, f, c0, reverse):
  steps = u.shape[1]
  if steps is None:
    raise ValueError(
        "fo_pool(unroll=True) needs a static time length; got shape "
        f"{u.shape}. Use unroll=False or give the model a fixed length.")
  if steps == 0:
    return u
  us = tf.unstack(u, axis=1)
  fs = tf.unstack(f, axis=1)
  if reverse:
    us, fs = us[::-1], fs[::-1]
  # With no initial state the first step is just u_0 (f_0 * 0 dropped).
  c = us[0] if c0 is None else fs[0] * c0 + us[0]
  cs = [c]
  for u_t, f_t in zip(us[1:], fs[1:]):
    c = f_t * c + u_t
    cs.append(c)
  return tf.stack(cs[::-1] if reverse else cs, axis=1)


def fo_pool_log_depth(u, f, reverse: bool = False):
  """fo-pooling `c_t = f_t * c_{t-1} + u_t` by recursive doubling.

  After step k, each position holds the recurrence over the `2^k` steps
  ending at it: the pair (product of the forget gates, partial state), and
  combining it with the pair `2^k` steps earlier doubles the span. So a
  static length `T` takes `ceil(log2 T)` steps of a few elementwise builtin
  ops (`PAD`, `STRIDED_SLICE`, `MUL`, `ADD`), against `T` for the unrolled
  loop, and TFLite needs no control flow and no custom op. The products are
  associated differently from the sequential loop, so values agree with it
  to float rounding, not bit for bit.

  Args:
    u: float tensor `[batch, time, units]` with a static time length, the
      gated candidates `(1 - f) * z`.
    f: float tensor like `u`, the forget gates.
    reverse: run from the last step to the first, `c_t = f_t * c_{t+1} +
      u_t` (with `c_time = 0`).

  Returns:
    `c`, shaped like `u`. The state enters the first processed step as 0; to
    start a reverse recurrence at a row's last valid step, pass `u = 0` at
    the padded steps after it.

  Raises:
    ValueError: the time length is not static.
  """
  steps = u.shape[1]
  if steps is None:
    raise ValueError(f"fo_pool_log_depth needs a static time length, got shape {u.shape}")
  gates, state = f, u
  span = 1
  while span < steps:
    state = state + gates * _shifted(state, span, reverse)
    if 2 * span < steps:  # the last step needs no product of gates
      gates = gates * _shifted(gates, span, reverse)
    span *= 2
  return state


def _shifted(x, steps: int, reverse: bool):
  """`x` moved `steps` later in time (earlier with `reverse`), zeros shifted in."""
  if reverse:
    return tf.pad(x[:, steps:], [[0, 0], [0, steps], [0, 0]])
  return tf.pad(x[:, :-steps], [[0, 0], [steps, 0], [0, 0]])
