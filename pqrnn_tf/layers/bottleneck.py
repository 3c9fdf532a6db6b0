"""The Bottleneck layer: a per-step dense projection of the token features."""
from __future__ import annotations

import tensorflow as tf
import tf_keras as keras

from pqrnn_tf.layers.initializers import set_weight_settings, weight_settings_config
from pqrnn_tf.layers.token_dense import TokenDense, token_matmul

_NORMALIZATIONS = ("layer", "batch", None)


@keras.utils.register_keras_serializable(package="pqrnn_tf")
class Bottleneck(keras.layers.Layer):
  """Dense + optional normalization + activation + dropout at every step.

  Maps the (wide, ternary) projection features of each token to a small dense
  vector: `dropout(activation(norm(dense(x))))`, applied independently at each
  time step.

  The layer norm is computed from its definition, with the centering folded
  into the dense layer: the mean over the units of `x W + b` is
  `x mean(W) + mean(b)`, so `x (W - mean(W)) + (b - mean(b))` is already
  centred, and the norm is one FULLY_CONNECTED plus six element-wise ops in
  TFLite (Keras' own `LayerNormalization` converts to about twenty, through a
  fused batch norm on a reshaped tensor). Batch normalization folds into the
  FULLY_CONNECTED at inference.

  With `normalization="batch"` the dense layer has no bias (the batch norm's
  `beta` replaces it; a bias would get no gradient). Batch statistics are
  computed over valid steps only (the mask is passed to the batch norm).

  Masking: supported and propagated unchanged. Padded steps are not zeroed
  (their outputs are the layer applied to whatever they hold, as with Keras'
  own Dense; the pqrnn_tf layers downstream ignore them through the mask,
  and zeroing them would cost a select in every exported graph). Valid steps
  do not depend on padded steps (at inference; in training, batch
  normalization statistics depend on the other valid steps of the batch).

  Args:
    units: positive int, the output size.
    activation: activation name or callable, applied after normalization.
      `None` for linear.
    normalization: `"layer"` (`LayerNormalization` over features), `"batch"`
      (`BatchNormalization` over batch and time) or `None`.
    dropout: float in `[0, 1)`, dropout rate on the outputs during training.
    kernel_initializer: initializer of the dense kernel.
    bias_initializer: initializer of the dense bias.
    kernel_regularizer: optional regularizer of the dense kernel.
    bias_regularizer: optional regularizer of the dense bias.
    **kwargs: other keyword arguments for `keras.layers.Layer` (`name`,
      `dtype`, `trainable`, ...).

  Call arguments:
    inputs: float tensor `[batch, time, features]`.
    mask: optional bool tensor `[batch, time]`.
    training: Python bool or bool tensor; enables dropout and batch
      statistics.

  Returns:
    Float tensor `[batch, time, units]`, with the input's mask.

  Example:

  >>> x = tf.random.normal([2, 5, 64])
  >>> mask = tf.sequence_mask([5, 3], 5)
  >>> y = Bottleneck(16)(x, mask=mask)
  >>> y.shape
  TensorShape([2, 5, 16])
  """

  def __init__(self,
               units,
               activation="relu",
               normalization="layer",
               dropout=0.0,
               kernel_initializer="glorot_uniform",
               bias_initializer="zeros",
               kernel_regularizer=None,
               bias_regularizer=None,
               **kwargs):
    super().__init__(**kwargs)
    if int(units) <= 0:
      raise ValueError(f"units must be positive, got {units}")
    if normalization not in _NORMALIZATIONS:
      raise ValueError(f"normalization must be one of {_NORMALIZATIONS}, got "
                       f"{normalization!r}")
    if not 0.0 <= dropout < 1.0:
      raise ValueError(f"dropout must be in [0, 1), got {dropout}")
    self.units = int(units)
    self.activation = keras.activations.get(activation)
    self.normalization = normalization
    self.dropout = float(dropout)
    set_weight_settings(self, kernel_initializer, bias_initializer, kernel_regularizer,
                        bias_regularizer)
    self.supports_masking = True

    self.dense = TokenDense(
        self.units,
        use_bias=normalization != "batch",
        kernel_initializer=self.kernel_initializer,
        bias_initializer=self.bias_initializer,
        kernel_regularizer=self.kernel_regularizer,
        bias_regularizer=self.bias_regularizer,
        dtype=self.dtype_policy,
        name="dense")
    if normalization == "layer":
      self.norm = keras.layers.LayerNormalization(
          axis=-1, dtype=self.dtype_policy, name="layer_norm")
    elif normalization == "batch":
      self.norm = keras.layers.BatchNormalization(
          axis=-1, dtype=self.dtype_policy, name="batch_norm")
    else:
      self.norm = None
    self.output_dropout = keras.layers.Dropout(
        self.dropout, dtype=self.dtype_policy, name="output_dropout")

  def build(self, input_shape):
    input_shape = tf.TensorShape(input_shape)
    if input_shape.rank is None or input_shape[-1] is None:
      raise ValueError(
          f"Bottleneck needs a known feature size, got {input_shape}")
    # Name scopes give the weights unique names ("bottleneck/dense/kernel:0"),
    # as when a sublayer builds itself on its first call.
    with tf.name_scope(self.dense.name):
      self.dense.build(input_shape)
    if self.norm is not None:
      with tf.name_scope(self.norm.name):
        self.norm.build(input_shape[:-1].concatenate([self.units]))
    self.output_dropout.build(input_shape[:-1].concatenate([self.units]))
    super().build(input_shape)

  def call(self, inputs, mask=None, training=None):
    if self.normalization == "layer":
      y = self._dense_layer_norm(inputs, training)
    else:
      y = self.dense(inputs, training=training)
    if self.normalization == "batch":
      y = self.norm(y, training=training, mask=mask)
    if self.activation is not None:
      y = self.activation(y)
    if self.dropout > 0.0:
      y = self.output_dropout(y, training=training)
    return y

  def _dense_layer_norm(self, inputs, training):
    """`self.norm(self.dense(inputs))` with the centering inside the kernel."""
    x = tf.convert_to_tensor(inputs, dtype=self.compute_dtype)
    kernel = tf.cast(self.dense.kernel, x.dtype)
    y = token_matmul(x, kernel - tf.reduce_mean(kernel, axis=1, keepdims=True), training)
    if self.dense.use_bias:
      bias = tf.cast(self.dense.bias, x.dtype)
      y = y + (bias - tf.reduce_mean(bias))
    # y * y, not tf.square: TFLite has no int8 SQUARE (it would stay float
    # between a DEQUANTIZE and a QUANTIZE).
    variance = tf.reduce_mean(y * y, axis=-1, keepdims=True)
    y = y * tf.math.rsqrt(variance + self.norm.epsilon)
    return y * tf.cast(self.norm.gamma, x.dtype) + tf.cast(self.norm.beta, x.dtype)

  def compute_mask(self, inputs, mask=None):
    return mask

  def compute_output_shape(self, input_shape):
    return tf.TensorShape(input_shape)[:-1].concatenate([self.units])

  def get_config(self):
    config = super().get_config()
    config.update({
        "units": self.units,
        "activation": keras.activations.serialize(self.activation),
        "normalization": self.normalization,
        "dropout": self.dropout,
        **weight_settings_config(self),
    })
    return config
