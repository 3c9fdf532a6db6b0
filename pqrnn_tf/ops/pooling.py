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


QRNN_OP_NAME = "PqrnnQrnnPooling"  # its gradient is registered below, on import


def qrnn_pooling(taps, sequence_length, kernel_width: int = 2, bidirectional: bool = True):
  """A QRNN layer after its one matrix product (custom_ops/core/fo_pooling.h).

  Sums each gate over the convolution taps (taps reaching before step 0 or
  past a row's length count as 0), applies tanh / sigmoid, runs fo-pooling
  over the valid steps (forward, and backward if `bidirectional`) and the
  output gate. Identical bits in TF and TFLite; differentiable in `taps`
  (the gradient is that of `qrnn_pooling_reference`).

  Args:
    taps: float32 `[batch, time, directions * kernel_width * 3 * units]`, laid
      out `[direction][tap][z, f, o][unit]`; forward tap j multiplies the
      input `kernel_width - 1 - j` steps back, backward tap j the one as many
      steps ahead; tap `kernel_width - 1` (the step's own input) holds the
      bias.
    sequence_length: int32 `[batch]`, each in `[0, time]`.
    kernel_width: taps per direction.
    bidirectional: two directions (forward units first in the output) or one.

  Returns:
    float32 `[batch, time, directions * units]`, 0 at steps past each length.
  """
  return _libraries.tf_ops().pqrnn_qrnn_pooling(
      taps, tf.cast(sequence_length, tf.int32), kernel_width=kernel_width,
      bidirectional=bidirectional)


def qrnn_pooling_reference(taps, sequence_length, kernel_width: int = 2,
                           bidirectional: bool = True, pool=None):
  """`qrnn_pooling` with TF ops and `fo_pooling` (same math; TF's own tanh and
  sigmoid, so equal up to float rounding): its gradient and its test oracle.

  `pool(us, fs, lengths)` replaces `fo_pooling`: it gets each direction's
  `u = (1 - f) * z` and `f` (the second direction runs from the last step
  to the first) and returns each direction's `c`, 0 at steps past each
  length (e.g. a builtin-ops recurrence for portable exports). Padded steps
  reach it with `u = 0` (their taps count as 0)."""
  taps = tf.convert_to_tensor(taps, tf.float32)
  lengths = tf.cast(sequence_length, tf.int32)
  directions = 2 if bidirectional else 1
  time = tf.shape(taps)[1]
  valid = tf.sequence_mask(lengths, time, dtype=taps.dtype)[:, :, None]
  taps = taps * valid  # taps past the length count as 0
  # Slices rather than tf.split: int8 exports keep these ops float
  # (a SPLIT would be quantized, and the gates with it).
  width = taps.shape[-1] // (directions * kernel_width)
  units = width // 3
  us, fs, os = [], [], []
  for d in range(directions):
    gates = None
    for j in range(kernel_width):
      first = (d * kernel_width + j) * width
      tap = taps[:, :, first:first + width]
      offset = kernel_width - 1 - j
      if offset:
        if d == 0:  # step t takes tap j of step t - offset
          tap = tf.pad(tap, [[0, 0], [offset, 0], [0, 0]])[:, :time]
        else:  # step t takes tap j of step t + offset
          tap = tf.pad(tap, [[0, 0], [0, offset], [0, 0]])[:, offset:]
      gates = tap if gates is None else gates + tap
    z, f, o = gates[:, :, :units], gates[:, :, units:2 * units], gates[:, :, 2 * units:]
    z, f, o = tf.tanh(z), tf.sigmoid(f), tf.sigmoid(o)
    us.append((1.0 - f) * z)
    fs.append(f)
    os.append(o)
  cs = (pool or _fo_pool_directions)(us, fs, lengths)
  outputs = [o * c for o, c in zip(os, cs)]
  return tf.concat(outputs, axis=-1) if directions == 2 else outputs[0]


def _fo_pool_directions(us, fs, lengths):
  """`fo_pooling` of each direction (the second one reversed)."""
  return [fo_pooling(u, f, lengths, reverse=d == 1) for d, (u, f) in enumerate(zip(us, fs))]


@tf.RegisterGradient(QRNN_OP_NAME)
def _qrnn_pooling_gradient(op, grad):
  taps, lengths = op.inputs
  with tf.GradientTape() as tape:
    tape.watch(taps)
    h = qrnn_pooling_reference(taps, lengths, kernel_width=op.get_attr("kernel_width"),
                               bidirectional=op.get_attr("bidirectional"))
  return tape.gradient(h, taps, output_gradients=grad), None
