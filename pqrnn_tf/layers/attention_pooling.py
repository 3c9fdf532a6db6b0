"""The AttentionPooling layer: masked attention pooling over time."""
from __future__ import annotations

import tensorflow as tf
import tf_keras as keras

from pqrnn_tf.layers.float_scope import FLOAT_SCOPE
from pqrnn_tf.layers.initializers import (fresh_initializer, set_weight_settings,
                                          weight_settings_config)
from pqrnn_tf.layers.token_dense import TokenDense

# The score of a padded step: exp(-1e9 - max) is 0 in float32.
_PADDED_SCORE = -1e9


@keras.utils.register_keras_serializable(package="pqrnn_tf")
class AttentionPooling(keras.layers.Layer):
  """Pools `[batch, time, features]` to `[batch, features]` with attention.

  Each step gets a score, `s_t = w . x_t` (`units=None`) or
  `s_t = v . tanh(W x_t + b)` (`units` set, as in Yang et al., 2016); the
  weights are a softmax of the scores over the valid steps only, and the
  output is `sum_t a_t x_t`.

  The softmax runs over the valid steps only and never divides by less than
  1: padded steps' scores are replaced by -1e9 (valid scores must be above
  it) when taking the row maximum and after subtracting it, so their weight
  `exp` is exactly 0 in float32 whatever their (finite) values; the largest
  valid weight is exactly 1, and the weights are divided by their total
  floored at 1, so rows with no valid step output zeros (never NaN). The
  softmax and the weighted sum run in `FLOAT_SCOPE`, so int8 exports keep
  them float.

  Masking: supported and consumed (the output has no mask).

  Args:
    units: optional positive int, the size of the tanh hidden layer of the
      scorer; `None` for a linear scorer.
    use_bias: bool, whether the hidden layer has a bias (ignored with
      `units=None`: a bias on a score does not change a softmax).
    kernel_initializer: initializer of the scorer kernels.
    bias_initializer: initializer of the hidden layer bias.
    kernel_regularizer: optional regularizer of the scorer kernels.
    bias_regularizer: optional regularizer of the hidden layer bias.
    **kwargs: other keyword arguments for `keras.layers.Layer` (`name`,
      `dtype`, `trainable`, ...).

  Call arguments:
    inputs: float tensor `[batch, time, features]`.
    mask: optional bool tensor `[batch, time]`; any pattern is allowed.

  Returns:
    Float tensor `[batch, features]`.

  Example:

  >>> x = tf.random.normal([3, 4, 8])
  >>> mask = tf.sequence_mask([4, 2, 0], 4)
  >>> y = AttentionPooling()(x, mask=mask)
  >>> y.shape
  TensorShape([3, 8])
  >>> float(tf.reduce_max(tf.abs(y[2])))
  0.0
  """

  def __init__(self,
               units=None,
               use_bias=True,
               kernel_initializer="glorot_uniform",
               bias_initializer="zeros",
               kernel_regularizer=None,
               bias_regularizer=None,
               **kwargs):
    super().__init__(**kwargs)
    if units is not None and int(units) <= 0:
      raise ValueError(f"units must be positive or None, got {units}")
    self.units = None if units is None else int(units)
    self.use_bias = bool(use_bias)
    set_weight_settings(self, kernel_initializer, bias_initializer, kernel_regularizer,
                        bias_regularizer)
    self.supports_masking = True

    if self.units is None:
      self.hidden = None
    else:
      self.hidden = TokenDense(
          self.units,
          activation="tanh",
          use_bias=self.use_bias,
          kernel_initializer=fresh_initializer(self.kernel_initializer),
          bias_initializer=self.bias_initializer,
          kernel_regularizer=self.kernel_regularizer,
          bias_regularizer=self.bias_regularizer,
          dtype=self.dtype_policy,
          name="hidden")
    self.score = TokenDense(
        1,
        use_bias=False,
        kernel_initializer=fresh_initializer(self.kernel_initializer),
        kernel_regularizer=self.kernel_regularizer,
        dtype=self.dtype_policy,
        name="score")

  def build(self, input_shape):
    input_shape = tf.TensorShape(input_shape)
    if input_shape.rank != 3 or input_shape[-1] is None:
      raise ValueError(
          "AttentionPooling expects [batch, time, features] with known "
          f"features, got {input_shape}")
    # Name scopes give the weights unique names ("attention_pooling/score/
    # kernel:0"), as when a sublayer builds itself on its first call.
    score_input_shape = input_shape
    if self.hidden is not None:
      with tf.name_scope(self.hidden.name):
        self.hidden.build(input_shape)
      score_input_shape = input_shape[:-1].concatenate([self.units])
    with tf.name_scope(self.score.name):
      self.score.build(score_input_shape)
    super().build(input_shape)

  def call(self, inputs, mask=None):
    x = tf.convert_to_tensor(inputs, dtype=self.compute_dtype)
    hidden = x if self.hidden is None else self.hidden(x)
    scores = tf.squeeze(self.score(hidden), axis=-1)  # [batch, time]
    # int8 cannot hold the weights: a sentence of n tokens needs weights from
    # 1/n to 1 and totals from 1 to n (9 bits at n = 512), so int8 exports keep
    # this part float (see FLOAT_SCOPE).
    with tf.name_scope(FLOAT_SCOPE):
      return self._pool(x, scores, mask)

  def _pool(self, x, scores, mask):
    # The softmax written out: TFLite's SOFTMAX has a fixed int8 output range
    # (steps of 1/256), which the int8 converter keeps as a QUANTIZE /
    # DEQUANTIZE pair after it even in FLOAT_SCOPE.
    if mask is not None:
      # `where(mask, x, padded)` as arithmetic, with the same float32 values
      # (x * 1 + 0 * padded = x, x * 0 + 1 * padded = padded): int8 exports
      # quantize a SELECT's value inputs with the scale of its output, so a
      # SELECT would give the int8 scores the range of `padded` whenever
      # calibration sees padding (as every portable export does).
      valid = tf.cast(mask, scores.dtype)
      padding = (1.0 - valid) * tf.constant(_PADDED_SCORE, scores.dtype)
      highest = tf.reduce_max(scores * valid + padding, axis=-1, keepdims=True)
      weights = tf.exp((scores - highest) * valid + padding)
    else:
      weights = tf.exp(scores - tf.reduce_max(scores, axis=-1, keepdims=True))
    # The largest valid weight is exactly 1, so the floor of 1 changes only
    # rows without a valid step (total 0), which pool to zeros.
    total = tf.maximum(tf.reduce_sum(weights, axis=-1, keepdims=True), 1.0)
    return tf.reduce_sum(x * tf.expand_dims(weights / total, -1), axis=1)

  def compute_mask(self, inputs, mask=None):
    return None

  def compute_output_shape(self, input_shape):
    input_shape = tf.TensorShape(input_shape)
    return tf.TensorShape([input_shape[0], input_shape[-1]])

  def get_config(self):
    config = super().get_config()
    config.update({
        "units": self.units,
        "use_bias": self.use_bias,
        **weight_settings_config(self),
    })
    return config
