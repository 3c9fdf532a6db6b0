"""The QRNN layer: causal convolution gates + fo-pooling."""
from __future__ import annotations

import contextlib

import tensorflow as tf
import tf_keras as keras

from pqrnn_tf import ops
from pqrnn_tf.ops.pooling import qrnn_pooling_reference
from pqrnn_tf.layers.float_scope import FLOAT_SCOPE
from pqrnn_tf.layers.fo_pooling import fo_pool, fo_pool_log_depth
from pqrnn_tf.layers.initializers import (fresh_initializer, set_weight_settings,
                                          weight_settings_config)
from pqrnn_tf.layers.training_mode import static_training

IMPLEMENTATIONS = ("op", "unrolled", "scan")


@contextlib.contextmanager
def builtin_recurrence(model: keras.layers.Layer):
  """Inside, the "op" QRNN layers of `model` run inference in builtin ops.

  What portable exports trace: the layer's matrix product, then
  `qrnn_pooling_reference` with the log-depth recurrence
  (`fo_pool_log_depth`) in place of the custom ops, all in `FLOAT_SCOPE` (int8
  models keep the recurrence float, as they keep the custom op). Inputs need a
  static time length.
  """
  layers = [layer for layer in (model, *model.submodules)
            if isinstance(layer, QRNN) and layer.implementation == "op"]
  for layer in layers:
    layer._builtin_recurrence = True  # pylint: disable=protected-access
  try:
    yield
  finally:
    for layer in layers:
      layer._builtin_recurrence = False  # pylint: disable=protected-access


def _log_depth_pool(us, fs, lengths):
  """`fo_pool_log_depth` of every direction at once (`qrnn_pooling_reference`'s
  `pool`), 0 past each length.

  The backward direction is reversed in time and stacked beside the forward
  one, so one scan runs both: half the ops of a scan per direction. Reversed,
  its padded steps come first, and their `u = 0` keeps the state 0 until the
  last valid step, where the backward recurrence starts.
  """
  valid = tf.sequence_mask(lengths, tf.shape(us[0])[1], dtype=us[0].dtype)[:, :, None]
  if len(us) == 1:
    return [fo_pool_log_depth(us[0], fs[0]) * valid]
  units = us[0].shape[-1]
  # The forget gates are joined as 1 - f: joined straight from their
  # LOGISTICs, the int8 converter rounded them to int8 and back.
  keeps = [1.0 - f for f in fs]
  c = fo_pool_log_depth(tf.concat([us[0], tf.reverse(us[1], axis=[1])], axis=-1),
                        1.0 - tf.concat([keeps[0], tf.reverse(keeps[1], axis=[1])], axis=-1))
  return [c[:, :, :units] * valid, tf.reverse(c[:, :, units:], axis=[1])]


@keras.utils.register_keras_serializable(package="pqrnn_tf")
class QRNN(keras.layers.Layer):
  """Quasi-recurrent layer (Bradbury et al., 2017) with fo-pooling.

  For each direction a causal 1D convolution of width `kernel_width` (step t
  sees steps t - kernel_width + 1 .. t, zeros before the start) maps the
  inputs to a candidate `z` (tanh), a forget gate `f` (sigmoid) and an output gate `o`
  (sigmoid); then

      c_t = f_t * c_{t-1} + (1 - f_t) * z_t,     h_t = o_t * c_t,

  with `c_{-1} = 0`. The backward direction computes, with its own weights,
  what the forward computation gives on the reversed *valid part* of each
  sequence (`tf.reverse_sequence` with the mask lengths), reversed back:
  `backward(x) == reverse_sequence(forward'(reverse_sequence(x)))`. It is
  implemented without reversing anything (TFLite's `REVERSE_SEQUENCE` has no
  int8 kernel): an anti-causal convolution (zeros after the sequence, kernel
  flipped in time) and fo-pooling from the last step to the first, with the
  padded inputs and candidates zeroed so that the state is still 0 on reaching
  the last valid step. The forward and backward outputs are concatenated
  (`2 * units`).

  Zoneout (training only): each unit's forget gate is set to 1 (the previous
  `c` is kept) with probability `zoneout`, as `f = 1 - dropout(1 - f)` in
  Bradbury et al. but without rescaling. At inference the layer is
  deterministic and zoneout does nothing.

  Masking: the mask must be right-padded (`True` for the first `length` steps
  of each row, `False` after). Padding never reaches a valid step in either
  direction, whatever (finite) values the padded inputs hold; padded steps
  output zeros. The output mask is the input mask when `return_sequences=True`
  and `None` otherwise, so layers stack.

  Weights: `forward_kernel` `[kernel_width, features, 3 * units]` and
  `forward_bias` `[3 * units]` (gates in the order `[z | f | o]`; kernel index
  `j` applies to step `t - kernel_width + 1 + j`), and `backward_kernel`,
  `backward_bias` likewise in the reading order of the backward direction.

  Args:
    units: positive int, the state size of each direction.
    kernel_width: positive int, the width of the causal convolution (1 gives
      per-step gates, 2 is the usual QRNN).
    bidirectional: bool, whether to add a backward direction.
    zoneout: float in `[0, 1)`, the probability of keeping the previous state
      of a unit at a step during training.
    dropout: float in `[0, 1)`, dropout rate on the layer inputs during
      training.
    return_sequences: bool, whether to return every step (`[batch, time, d]`)
      or only the final state of each direction (`[batch, d]`: the forward
      output at the last valid step, the backward output at step 0, i.e.
      after reading the whole sequence). `d = units * (2 if bidirectional
      else 1)`.
    implementation: how fo-pooling runs: "op" (default) is the custom ops,
      identical in TF and TFLite, over each sequence's valid steps only (so
      cost follows length): at inference the layer is one matrix product
      (both directions' gates at every convolution tap) and the
      `PqrnnQrnnPooling` op (tap sums, activations, fo-pooling, output gate;
      two ops in TFLite), in training the gates are built from TF ops (with
      zoneout and dropout) and pooled by `PqrnnFoPooling`; "unrolled" is one
      block of builtin ops per step (needs a static time length; all-int8
      TFLite but fixed-length cost); "scan" is a `tf.scan` (reference only:
      TFLite cannot convert it).
    kernel_initializer: initializer of the convolution kernels.
    bias_initializer: initializer of the convolution biases.
    kernel_regularizer: optional regularizer of the convolution kernels.
    bias_regularizer: optional regularizer of the convolution biases.
    **kwargs: other keyword arguments for `keras.layers.Layer` (`name`,
      `dtype`, `trainable`, ...).

  Call arguments:
    inputs: float tensor `[batch, time, features]`.
    mask: optional bool tensor `[batch, time]`, right-padded (see above).
    training: Python bool or bool tensor; enables zoneout and dropout.

  Returns:
    `[batch, time, d]` if `return_sequences`, else `[batch, d]`; zeros at
    padded steps and for rows of length 0.

  Example:

  >>> x = tf.random.normal([2, 5, 16])
  >>> mask = tf.sequence_mask([5, 3], 5)
  >>> h = QRNN(8)(x, mask=mask)
  >>> h.shape
  TensorShape([2, 5, 16])
  >>> QRNN(8, return_sequences=False)(QRNN(8)(x, mask=mask)).shape
  TensorShape([2, 16])
  """

  def __init__(self,
               units,
               kernel_width=2,
               bidirectional=True,
               zoneout=0.0,
               dropout=0.0,
               return_sequences=True,
               implementation="op",
               kernel_initializer="glorot_uniform",
               bias_initializer="zeros",
               kernel_regularizer=None,
               bias_regularizer=None,
               **kwargs):
    super().__init__(**kwargs)
    if int(units) <= 0:
      raise ValueError(f"units must be positive, got {units}")
    if int(kernel_width) <= 0:
      raise ValueError(f"kernel_width must be positive, got {kernel_width}")
    if not 0.0 <= zoneout < 1.0:
      raise ValueError(f"zoneout must be in [0, 1), got {zoneout}")
    if not 0.0 <= dropout < 1.0:
      raise ValueError(f"dropout must be in [0, 1), got {dropout}")
    self.units = int(units)
    self.kernel_width = int(kernel_width)
    self.bidirectional = bool(bidirectional)
    self.zoneout = float(zoneout)
    self.dropout = float(dropout)
    self.return_sequences = bool(return_sequences)
    if implementation not in IMPLEMENTATIONS:
      raise ValueError(f"implementation must be one of {IMPLEMENTATIONS}, "
                       f"got {implementation!r}")
    self.implementation = implementation
    set_weight_settings(self, kernel_initializer, bias_initializer, kernel_regularizer,
                        bias_regularizer)
    self.supports_masking = True

    self.input_dropout = keras.layers.Dropout(
        self.dropout, dtype=self.dtype_policy, name="input_dropout")
    self._builtin_recurrence = False  # see builtin_recurrence
    self.forward_kernel = None
    self.forward_bias = None
    self.backward_kernel = None
    self.backward_bias = None

  @property
  def output_units(self):
    return self.units * (2 if self.bidirectional else 1)

  def build(self, input_shape):
    input_shape = tf.TensorShape(input_shape)
    if input_shape.rank != 3 or input_shape[-1] is None:
      raise ValueError(
          f"QRNN expects [batch, time, features] with known features, got "
          f"{input_shape}")
    kernel_shape = (self.kernel_width, input_shape[-1], 3 * self.units)
    directions = ("forward", "backward") if self.bidirectional else (
        "forward",)
    for direction in directions:
      setattr(self, f"{direction}_kernel", self.add_weight(
          name=f"{direction}_kernel",
          shape=kernel_shape,
          initializer=fresh_initializer(self.kernel_initializer),
          regularizer=self.kernel_regularizer))
      setattr(self, f"{direction}_bias", self.add_weight(
          name=f"{direction}_bias",
          shape=(3 * self.units,),
          initializer=fresh_initializer(self.bias_initializer),
          regularizer=self.bias_regularizer))
    self.input_dropout.build(input_shape)
    super().build(input_shape)

  def call(self, inputs, mask=None, training=None):
    x = tf.convert_to_tensor(inputs, dtype=self.compute_dtype)
    if self.implementation == "op" and static_training(training) is False:
      return self._call_fused(x, mask)
    if self.dropout > 0.0:
      x = self.input_dropout(x, training=training)
    mask_f = None
    if mask is not None:
      mask_f = tf.expand_dims(tf.cast(mask, x.dtype), -1)

    z_fw, f_fw, o_fw = self._gates(
        x, self.forward_kernel, self.forward_bias, backward=False)
    f_fw = self._maybe_zoneout(f_fw, training)
    if not self.bidirectional:
      h_fw = o_fw * self._pool(z_fw, f_fw, mask, reverse=False)
      if not self.return_sequences:
        return self._last_valid_step(h_fw, mask_f)
      return h_fw if mask_f is None else h_fw * mask_f

    # The backward direction starts at the last (padded) step: with zero
    # padded inputs the anti-causal convolution sees what it would at the end
    # of the sequence, and with zero padded candidates the state stays 0
    # through the padding.
    x_bw = x if mask_f is None else x * mask_f
    z_bw, f_bw, o_bw = self._gates(
        x_bw, self.backward_kernel, self.backward_bias, backward=True)
    if mask_f is not None:
      z_bw = z_bw * mask_f
    f_bw = self._maybe_zoneout(f_bw, training)
    c_fw, c_bw = self._fo_pool_both_directions(z_fw, f_fw, z_bw, f_bw, mask)
    h_fw = o_fw * c_fw
    h_bw = o_bw * c_bw
    if not self.return_sequences:
      # Backward: step 0, after reading the whole sequence (0 if empty).
      return tf.concat(
          [self._last_valid_step(h_fw, mask_f), h_bw[:, 0, :]], axis=-1)
    h = tf.concat([h_fw, h_bw], axis=-1)
    return h if mask_f is None else h * mask_f

  def _fused_weights(self, dtype):
    """The kernel `[features, directions * kernel_width * 3 * units]` and bias
    of every direction's gates at every tap, in `PqrnnQrnnPooling`'s layout.

    Tap j of `forward_kernel` applies to step t - kernel_width + 1 + j and
    tap j of `backward_kernel` to step t + kernel_width - 1 - j, as the op
    reads them; the bias goes with the last tap (the step itself). Built from
    the layer's variables at call time (constant-folded by the converter).
    """
    kernels, biases = [], []
    directions = ("forward", "backward") if self.bidirectional else ("forward",)
    for direction in directions:
      kernel = tf.cast(getattr(self, f"{direction}_kernel"), dtype)
      features = tf.shape(kernel)[1]
      kernels.append(tf.reshape(tf.transpose(kernel, [1, 0, 2]), [features, -1]))
      bias = tf.cast(getattr(self, f"{direction}_bias"), dtype)
      biases.append(tf.concat(
          [tf.zeros([(self.kernel_width - 1) * 3 * self.units], dtype), bias], axis=0))
    return tf.concat(kernels, axis=1), tf.concat(biases, axis=0)

  def _call_fused(self, x, mask):
    """Inference: one matrix product and the `PqrnnQrnnPooling` op."""
    if mask is None:
      lengths = tf.fill(tf.shape(x)[:1], tf.shape(x)[1])
    else:
      lengths = tf.reduce_sum(tf.cast(mask, tf.int32), axis=1)
    kernel, bias = self._fused_weights(x.dtype)
    taps = tf.matmul(x, kernel) + bias
    if self._builtin_recurrence:
      with tf.name_scope(FLOAT_SCOPE):
        h = qrnn_pooling_reference(taps, lengths, kernel_width=self.kernel_width,
                                   bidirectional=self.bidirectional, pool=_log_depth_pool)
    else:
      h = ops.qrnn_pooling(taps, lengths, kernel_width=self.kernel_width,
                           bidirectional=self.bidirectional)
    if self.return_sequences:
      return h
    mask_f = None if mask is None else tf.expand_dims(tf.cast(mask, x.dtype), -1)
    if not self.bidirectional:
      return self._last_valid_step(h, mask_f)
    h_fw, h_bw = tf.split(h, 2, axis=-1)
    return tf.concat([self._last_valid_step(h_fw, mask_f), h_bw[:, 0, :]], axis=-1)

  def _gates(self, x, kernel, bias, backward):
    """The (anti-)causal convolution: `z, f, o`, each `[batch, time, units]`.

    Tap j of `kernel` applies to step t - d (forward) or t + d (backward),
    d = kernel_width - 1 - j, zeros beyond the ends. The taps' shifted inputs
    are concatenated and multiplied with the kernel as one 2-D matrix product
    (`[batch * time, width * features]`), which handles an empty batch (where
    tf.nn.conv1d returns a wrongly shaped tensor) and becomes one
    FULLY_CONNECTED in TFLite. A shift is a `tf.slice` and a `tf.pad`, whose
    gradients are a pad and a slice: in training this costs about a quarter
    fewer CPU seconds than strided windows of a padded input and a 3-D
    einsum (docs/results/training_speed.md).
    """
    # A static length (the "unrolled" export) keeps the shifts Python ints.
    time = x.shape[1] if x.shape[1] is not None else tf.shape(x)[1]
    batch, features = tf.shape(x)[0], x.shape[-1]
    shifted = []
    for j in range(self.kernel_width - 1):
      d = (min(self.kernel_width - 1 - j, time) if isinstance(time, int)
           else tf.minimum(self.kernel_width - 1 - j, time))
      if backward:
        tap = tf.pad(tf.slice(x, [0, d, 0], [-1, -1, -1]), [[0, 0], [0, d], [0, 0]])
      else:
        tap = tf.pad(tf.slice(x, [0, 0, 0], [-1, time - d, -1]), [[0, 0], [d, 0], [0, 0]])
      shifted.append(tap)
    shifted.append(x)  # The last tap: the step itself.
    windows = tf.reshape(tf.concat(shifted, axis=-1),
                         [batch * time, self.kernel_width * features])
    flat_kernel = tf.reshape(tf.cast(kernel, x.dtype), [-1, 3 * self.units])
    gates = tf.reshape(tf.matmul(windows, flat_kernel) + tf.cast(bias, x.dtype),
                       [batch, time, 3 * self.units])
    z, f, o = tf.split(gates, 3, axis=-1)
    return tf.tanh(z), tf.sigmoid(f), tf.sigmoid(o)

  def _pool(self, z, f, mask, reverse):
    """fo-pooling of one direction with the chosen implementation."""
    if self.implementation == "op":
      if mask is None:
        lengths = tf.fill(tf.shape(z)[:1], tf.shape(z)[1])
      else:
        lengths = tf.reduce_sum(tf.cast(mask, tf.int32), axis=1)
      return ops.fo_pooling((1.0 - f) * z, f, lengths, reverse=reverse)
    return fo_pool(z, f, unroll=self.implementation == "unrolled", reverse=reverse)

  def _fo_pool_both_directions(self, z_fw, f_fw, z_bw, f_bw, mask):
    if self.implementation != "scan":
      return (self._pool(z_fw, f_fw, mask, reverse=False),
              self._pool(z_bw, f_bw, mask, reverse=True))
    # One loop for both directions: the backward one reversed in time and
    # stacked on the unit axis.
    z = tf.concat([z_fw, tf.reverse(z_bw, axis=[1])], axis=-1)
    f = tf.concat([f_fw, tf.reverse(f_bw, axis=[1])], axis=-1)
    c_fw, c_bw = tf.split(fo_pool(z, f), 2, axis=-1)
    return c_fw, tf.reverse(c_bw, axis=[1])

  def _maybe_zoneout(self, f, training):
    if self.zoneout == 0.0:
      return f
    if training is None:
      training = keras.backend.learning_phase()

    def zoneout():
      keep_previous = tf.random.uniform(tf.shape(f), dtype=f.dtype) < (
          self.zoneout)
      return tf.where(keep_previous, tf.ones_like(f), f)

    return tf.__internal__.smart_cond.smart_cond(training, zoneout, lambda: f)

  @staticmethod
  def _last_valid_step(h, mask_f):
    if mask_f is None:
      return h[:, -1, :]
    # One-hot of the last valid step, without a gather: m_t - m_{t+1}.
    next_mask = tf.concat(
        [mask_f[:, 1:, :], tf.zeros_like(mask_f[:, :1, :])], axis=1)
    return tf.reduce_sum(h * (mask_f - next_mask), axis=1)

  def compute_mask(self, inputs, mask=None):
    return mask if self.return_sequences else None

  def compute_output_shape(self, input_shape):
    input_shape = tf.TensorShape(input_shape)
    if self.return_sequences:
      return input_shape[:-1].concatenate([self.output_units])
    return tf.TensorShape([input_shape[0], self.output_units])

  def get_config(self):
    config = super().get_config()
    config.update({
        "units": self.units,
        "kernel_width": self.kernel_width,
        "bidirectional": self.bidirectional,
        "zoneout": self.zoneout,
        "dropout": self.dropout,
        "return_sequences": self.return_sequences,
        "implementation": self.implementation,
        **weight_settings_config(self),
    })
    return config
