"""The FirstSubwordGather layer: sub-word states -> one state per word."""
from __future__ import annotations

import tensorflow as tf
import tf_keras as keras


@keras.utils.register_keras_serializable(package="pqrnn_tf")
class FirstSubwordGather(keras.layers.Layer):
  """Picks, for each word, the state of its first sub-word.

  Used after an encoder that runs over word pieces (`WordPieceTokenizer`), so
  per-word outputs (slot tags) align with `text.split()`.

  Masking: the output mask is `word_starts >= 0`; the mask of the sub-word
  sequence is not needed (valid starts point at valid pieces). Padded words
  output zeros.

  Call arguments:
    inputs: a list `[sequence, word_starts]`: float `[batch, pieces, dim]`
      and int `[batch, words]` (index of each word's first piece, -1 for
      padding), as returned by `WordPieceTokenizer`.

  Returns:
    Float `[batch, words, dim]`.

  Example:

  >>> x = tf.reshape(tf.range(12, dtype=tf.float32), [2, 3, 2])
  >>> FirstSubwordGather()([x, tf.constant([[0, 2], [1, -1]])]).numpy().tolist()
  [[[0.0, 1.0], [4.0, 5.0]], [[8.0, 9.0], [0.0, 0.0]]]
  """

  def __init__(self, **kwargs):
    super().__init__(**kwargs)
    self.supports_masking = True

  def call(self, inputs, mask=None):
    del mask
    sequence, word_starts = inputs
    word_starts = tf.cast(word_starts, tf.int32)
    valid = word_starts >= 0
    gathered = tf.gather(sequence, tf.maximum(word_starts, 0), batch_dims=1)
    # expand_dims, not [:, :, tf.newaxis]: TFLite lowers only the former.
    return gathered * tf.expand_dims(tf.cast(valid, gathered.dtype), -1)

  def compute_mask(self, inputs, mask=None):
    return tf.cast(inputs[1], tf.int32) >= 0

  def compute_output_shape(self, input_shape):
    sequence_shape, starts_shape = [tf.TensorShape(s) for s in input_shape]
    return tf.TensorShape([sequence_shape[0], starts_shape[1],
                           sequence_shape[-1]])
