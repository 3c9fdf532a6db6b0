"""The TransformerEncoderBlock layer: a pre-layer-norm Transformer encoder block."""
from __future__ import annotations

import tensorflow as tf
import tf_keras as keras

from pqrnn_tf.layers.initializers import fresh_initializer


@keras.utils.register_keras_serializable(package="pqrnn_tf")
class TransformerEncoderBlock(keras.layers.Layer):
  """Pre-LN Transformer encoder block (Xiong et al., 2020):

      x = x + dropout(MHA(LN(x), LN(x), key_mask))
      x = x + dropout(W2 dropout(act(W1 LN(x))))

  Masking: supported and propagated unchanged. Attention uses only the valid
  keys (the padding mask, `[batch, 1, time]`), so valid steps do not depend
  on padded steps; padded steps output zeros.

  Args:
    num_heads: attention heads; `dim` must be divisible by it.
    intermediate_dim: hidden size of the feed-forward network.
    dropout: dropout rate on the attention probabilities and the residual
      branches (training only).
    activation: activation of the feed-forward network.
    norm_epsilon: epsilon of the layer normalizations.
    kernel_initializer: initializer of all kernels.
    **kwargs: other keyword arguments for `keras.layers.Layer`.

  Call arguments:
    inputs: float `[batch, time, dim]`.
    mask: optional bool `[batch, time]`.
    training: enables dropout.

  Returns:
    Float `[batch, time, dim]`.

  Example:

  >>> x = tf.random.normal([2, 5, 16])
  >>> TransformerEncoderBlock(4, 32)(x, mask=tf.sequence_mask([5, 2], 5)).shape
  TensorShape([2, 5, 16])
  """

  def __init__(self, num_heads: int, intermediate_dim: int,
               dropout: float = 0.0, activation="gelu",
               norm_epsilon: float = 1e-6, kernel_initializer="glorot_uniform",
               **kwargs):
    super().__init__(**kwargs)
    if int(num_heads) <= 0 or int(intermediate_dim) <= 0:
      raise ValueError("num_heads and intermediate_dim must be positive")
    if not 0.0 <= dropout < 1.0:
      raise ValueError(f"dropout must be in [0, 1), got {dropout}")
    self.num_heads = int(num_heads)
    self.intermediate_dim = int(intermediate_dim)
    self.dropout = float(dropout)
    self.activation = keras.activations.get(activation)
    self.norm_epsilon = float(norm_epsilon)
    self.kernel_initializer = keras.initializers.get(kernel_initializer)
    self.supports_masking = True

  def build(self, input_shape):
    input_shape = tf.TensorShape(input_shape)
    if input_shape.rank != 3 or input_shape[-1] is None:
      raise ValueError("TransformerEncoderBlock expects [batch, time, dim] "
                       f"with known dim, got {input_shape}")
    dim = int(input_shape[-1])
    if dim % self.num_heads:
      raise ValueError(f"dim {dim} is not divisible by num_heads {self.num_heads}")
    self.attention_norm = keras.layers.LayerNormalization(
        epsilon=self.norm_epsilon, name="attention_norm")
    self.attention = keras.layers.MultiHeadAttention(
        self.num_heads, dim // self.num_heads, dropout=self.dropout,
        kernel_initializer=fresh_initializer(self.kernel_initializer), name="attention")
    self.ffn_norm = keras.layers.LayerNormalization(
        epsilon=self.norm_epsilon, name="ffn_norm")
    self.ffn_inner = keras.layers.Dense(
        self.intermediate_dim, activation=self.activation,
        kernel_initializer=fresh_initializer(self.kernel_initializer), name="ffn_inner")
    self.ffn_outer = keras.layers.Dense(
        dim, kernel_initializer=fresh_initializer(self.kernel_initializer), name="ffn_outer")
    self.residual_dropout = keras.layers.Dropout(self.dropout)
    self.ffn_dropout = keras.layers.Dropout(self.dropout)
    # Name scopes give the weights unique names, as when sublayers build
    # themselves on their first call.
    with tf.name_scope(self.attention_norm.name):
      self.attention_norm.build(input_shape)
    with tf.name_scope(self.attention.name):
      self.attention._build_from_signature(input_shape, input_shape)  # pylint: disable=protected-access
    with tf.name_scope(self.ffn_norm.name):
      self.ffn_norm.build(input_shape)
    with tf.name_scope(self.ffn_inner.name):
      self.ffn_inner.build(input_shape)
    with tf.name_scope(self.ffn_outer.name):
      self.ffn_outer.build(input_shape[:-1].concatenate([self.intermediate_dim]))
    super().build(input_shape)

  def call(self, inputs, mask=None, training=None):
    x = inputs
    attention_mask = None
    if mask is not None:
      # Valid keys; expand_dims, not [:, tf.newaxis]: TFLite lowers only the former.
      attention_mask = tf.expand_dims(tf.cast(mask, tf.bool), 1)
    # tf.identity drops the Keras mask of `h`: from it, MultiHeadAttention would
    # add query/value masks with `[:, None]` slices, which TFLite does not
    # lower; `attention_mask` already holds the key mask.
    h = tf.identity(self.attention_norm(x))
    h = self.attention(h, h, attention_mask=attention_mask, training=training)
    x = x + self.residual_dropout(h, training=training)
    h = self.ffn_inner(self.ffn_norm(x))
    h = self.ffn_dropout(h, training=training)
    h = self.ffn_outer(h)
    x = x + self.residual_dropout(h, training=training)
    if mask is not None:
      x = x * tf.expand_dims(tf.cast(mask, x.dtype), -1)
    return x

  def compute_mask(self, inputs, mask=None):
    return mask

  def get_config(self):
    config = super().get_config()
    config.update({
        "num_heads": self.num_heads,
        "intermediate_dim": self.intermediate_dim,
        "dropout": self.dropout,
        "activation": keras.activations.serialize(self.activation),
        "norm_epsilon": self.norm_epsilon,
        "kernel_initializer":
            keras.initializers.serialize(self.kernel_initializer),
    })
    return config
