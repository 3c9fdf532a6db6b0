"""The BidirectionalLSTM layer: a masked bidirectional LSTM that TFLite fuses."""
from __future__ import annotations

import tensorflow as tf
import tf_keras as keras


@keras.utils.register_keras_serializable(package="pqrnn_tf")
class BidirectionalLSTM(keras.layers.Layer):
  """A bidirectional LSTM over right-padded sequences, exportable to TFLite.

  Computes what `keras.layers.Bidirectional(keras.layers.LSTM(units,
  return_sequences=True))` computes on a masked, right-padded batch: a forward
  LSTM, a backward LSTM that starts at each sequence's last valid step, their
  outputs concatenated, zeros at padded steps. But neither LSTM ever sees the
  mask: the backward one runs forward over the sequences reversed in place
  (padding stays at the end), and padded steps come
  after every valid step in both directions, so they cannot change a valid
  output. A mask-free Keras LSTM is what the TFLite converter fuses into one
  UNIDIRECTIONAL_SEQUENCE_LSTM op; with a mask it becomes a while loop over
  TensorLists, which the converter rejects.

  Args:
    units: LSTM units per direction (the output has `2 * units` features).
    dropout: dropout on each direction's inputs while training.
    **kwargs: other keyword arguments for `keras.layers.Layer`.

  Call arguments:
    inputs: float `[batch, time, features]`, valid steps first.
    mask: optional bool `[batch, time]` (all steps valid if None).
    training: whether dropout is active.

  Returns:
    Float `[batch, time, 2 * units]`, with the input mask.
  """

  def __init__(self, units: int, dropout: float = 0.0, **kwargs):
    super().__init__(**kwargs)
    self.units = units
    self.dropout = dropout
    self.supports_masking = True
    self.forward_lstm = keras.layers.LSTM(
        units, return_sequences=True, dropout=dropout, name="forward_lstm")
    self.backward_lstm = keras.layers.LSTM(
        units, return_sequences=True, dropout=dropout, name="backward_lstm")

  def call(self, inputs, mask=None, training=None):
    if mask is None:
      mask = tf.ones(tf.shape(inputs)[:2], tf.bool)
    lengths = tf.reduce_sum(tf.cast(mask, tf.int32), axis=1)
    # The TFLite converter fuses an LSTM only if its initial states have a
    # static shape, so they are given explicitly when the batch size is known
    # (Keras would derive them from the dynamic tf.shape of the inputs).
    batch = inputs.shape[0]
    initial_state = (None if batch is None else
                     [tf.zeros([batch, self.units], inputs.dtype)] * 2)
    # mask=None explicitly: Keras would otherwise pass the inputs' mask on.
    forward = self.forward_lstm(inputs, mask=None, training=training,
                                initial_state=initial_state)
    reverse = reverse_valid_steps_indices(lengths, tf.shape(inputs)[1])
    backward = self.backward_lstm(
        tf.gather(inputs, reverse, batch_dims=1), mask=None,
        training=training, initial_state=initial_state)
    backward = tf.gather(backward, reverse, batch_dims=1)
    outputs = tf.concat([forward, backward], axis=-1)
    return outputs * tf.expand_dims(tf.cast(mask, outputs.dtype), -1)

  def compute_mask(self, inputs, mask=None):
    return mask

  def compute_output_shape(self, input_shape):
    input_shape = tf.TensorShape(input_shape)
    return input_shape[:-1].concatenate([2 * self.units])

  def get_config(self):
    config = super().get_config()
    config.update({"units": self.units, "dropout": self.dropout})
    return config


def reverse_valid_steps_indices(lengths, time):
  """Indices `[batch, time]` that reverse each row's first `lengths` steps.

  For `tf.gather(x, indices, batch_dims=1)`; padded steps stay in place. A
  batched GATHER, unlike REVERSE_SEQUENCE, has an int8 TFLite kernel.
  """
  # expand_dims, not [tf.newaxis]: TFLite lowers only the former.
  steps = tf.expand_dims(tf.range(time), 0)
  lengths = tf.expand_dims(lengths, 1)
  return tf.where(steps < lengths, lengths - 1 - steps, steps)
