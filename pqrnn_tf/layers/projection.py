"""The pQRNN projection as a Keras layer."""
from __future__ import annotations

import dataclasses

import tensorflow as tf
import tf_keras as keras

from pqrnn_tf import ops
from pqrnn_tf.data.tokens import Tokenization

_TOKENIZATION = Tokenization()  # The tokenization defaults, declared there.


@keras.utils.register_keras_serializable(package="pqrnn_tf")
class Projection(keras.layers.Layer):
  """Hashes each token of raw text to a ternary feature vector.

  No embedding table: features are computed from the token's bytes by the
  `PqrnnSequenceStringProjection` op (custom_ops/README.md), identically in
  TF and TFLite. The output carries a Keras mask of the valid tokens.

  Args (None: the op's default, read from its C++ attribute table by
  `ops.projection_defaults()`; the tokenization's come from `Tokenization`):
    feature_size: features per token.
    max_tokens: keep at most this many tokens per sentence (0 = no limit;
      default `tokens.DEFAULT_MAX_TOKENS`, 512, which bounds memory on any
      input).
    lowercase: apply Unicode simple lowercasing.
    separators: extra characters that split tokens (and are dropped).
    split_unsegmented_scripts: CJK, kana, Thai, ... characters become tokens.
    max_repeated_chars: cut runs of one character to this length (0 = off).
    add_bos: prepend a begin-of-sentence token.
    add_eos: append an end-of-sentence token.
    char_ngram_size: add boundary-marked character n-grams (0 = off).
    distortion_probability: character noise applied in training only.
    distortion_seed: seed of that noise.
    **kwargs: base `Layer` arguments.

  Call arguments:
    inputs: string tensor `[batch]` or `[batch, 1]` of UTF-8 sentences.
    training: whether to apply the distortion noise.

  Returns:
    float32 `[batch, time, feature_size]`, masked past each sentence's length.

  Example:
  >>> layer = Projection(feature_size=64)
  >>> layer(tf.constant(["book a flight", "hi"])).shape
  TensorShape([2, 3, 64])
  """

  def __init__(self, feature_size: int | None = None,
               max_tokens: int = _TOKENIZATION.max_tokens,
               lowercase: bool = _TOKENIZATION.lowercase,
               separators: str = _TOKENIZATION.separators,
               split_unsegmented_scripts: bool = _TOKENIZATION.split_unsegmented_scripts,
               max_repeated_chars: int | None = None, add_bos: bool = _TOKENIZATION.add_bos,
               add_eos: bool = _TOKENIZATION.add_eos, char_ngram_size: int | None = None,
               distortion_probability: float | None = None,
               distortion_seed: int | None = None, **kwargs):
    super().__init__(trainable=False, **{k: v for k, v in kwargs.items()
                                         if k != "trainable"})
    defaults = self.defaults()

    def given_or_op_default(name: str, value):
      return defaults[name] if value is None else value

    self.feature_size = given_or_op_default("feature_size", feature_size)
    self.max_tokens = max_tokens
    self.lowercase = lowercase
    self.separators = separators
    self.split_unsegmented_scripts = split_unsegmented_scripts
    self.max_repeated_chars = given_or_op_default("max_repeated_chars", max_repeated_chars)
    self.add_bos = add_bos
    self.add_eos = add_eos
    self.char_ngram_size = given_or_op_default("char_ngram_size", char_ngram_size)
    self.distortion_probability = given_or_op_default("distortion_probability",
                                                      distortion_probability)
    self.distortion_seed = given_or_op_default("distortion_seed", distortion_seed)

  @staticmethod
  def defaults() -> dict:
    """Every argument's default: the op's (`ops.projection_defaults()`), but
    the tokenization's (`Tokenization`, e.g. max_tokens) where it differs."""
    return {**ops.projection_defaults(), **dataclasses.asdict(_TOKENIZATION)}

  def op_attributes(self, training: bool = False) -> dict:
    """The op attributes for inference, or for training (with distortion)."""
    return dict(
        feature_size=self.feature_size, max_tokens=self.max_tokens,
        lowercase=self.lowercase, separators=self.separators,
        split_unsegmented_scripts=self.split_unsegmented_scripts,
        max_repeated_chars=self.max_repeated_chars, add_bos=self.add_bos,
        add_eos=self.add_eos, char_ngram_size=self.char_ngram_size,
        distortion_probability=self.distortion_probability if training else 0.0,
        distortion_seed=self.distortion_seed)

  def call(self, inputs, training=None):
    # A RESHAPE op in TFLite unless the input is already [batch].
    texts = inputs if inputs.shape.rank == 1 else tf.reshape(inputs, [-1])
    features, lengths = ops.sequence_string_projection(
        texts, **self.op_attributes(training=bool(training)))
    features._keras_mask = tf.sequence_mask(lengths, tf.shape(features)[1])  # pylint: disable=protected-access
    return features

  def compute_output_shape(self, input_shape):
    return tf.TensorShape([input_shape[0], None, self.feature_size])

  def get_config(self):
    config = super().get_config()
    config.update({k: v for k, v in self.op_attributes(training=True).items()})
    return config
