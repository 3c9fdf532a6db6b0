"""The WordPieceTokenizer layer: raw sentences -> word pieces + word starts."""
from __future__ import annotations

from typing import Sequence

import tensorflow as tf
import tensorflow_text as tf_text
import tf_keras as keras

from pqrnn_tf.layers.word_vocab_lookup import split_words


@keras.utils.register_keras_serializable(package="pqrnn_tf")
class WordPieceTokenizer(keras.layers.Layer):
  """Word-piece ids of each sentence, and where each word's pieces start.

  Each sentence is split into words on whitespace (so words align with
  `text.split()` and with slot tags), each word is normalized (BERT "uncased":
  lowercasing, NFD, accents stripped) and word-piece tokenized with BERT's
  rules (`tensorflow_text.FastWordpieceTokenizer`, which also splits off
  punctuation inside a word: "st." -> "st", "."). The pieces of all words of a
  sentence are concatenated. A word that gives no piece (only control
  characters, say) gets one `unknown_token`, so every word has a first piece.
  All the text ops used have TFLite kernels (`tensorflow_text`).

  Id 0 is padding: `vocabulary[0]` must be a token the tokenizer never
  produces, such as BERT's "[PAD]" (the brackets are split off as
  punctuation), so `keras.layers.Embedding(mask_zero=True)` gives the piece
  mask.

  Args:
    vocabulary: the word-piece vocabulary (BERT `vocab.txt` lines), with the
      padding token at index 0.
    lowercase: apply BERT "uncased" normalization (see `split_words`).
    suffix_indicator: marks word-continuation pieces ("##").
    unknown_token: the token of words that cannot be tokenized.
    **kwargs: other keyword arguments for `keras.layers.Layer`.

  Call arguments:
    inputs: string tensor `[batch]` or `[batch, 1]` of UTF-8 sentences.

  Returns:
    A list of two int32 tensors:
    `piece_ids` `[batch, max(1, max_pieces)]`, 0 past each sentence's pieces;
    `word_starts` `[batch, max(1, max_words)]`, the index in `piece_ids` of
    each word's first piece, -1 past each sentence's words.

  Example:

  >>> vocab = ["[PAD]", "[UNK]", "book", "flight", "##s", "."]
  >>> ids, starts = WordPieceTokenizer(vocab)(tf.constant(["Book flights.", ""]))
  >>> ids.numpy().tolist(), starts.numpy().tolist()
  ([[2, 3, 4, 5], [0, 0, 0, 0]], [[0, 1], [-1, -1]])
  """

  def __init__(self, vocabulary: Sequence[str], lowercase: bool = True,
               suffix_indicator: str = "##", unknown_token: str = "[UNK]",
               **kwargs):
    super().__init__(trainable=False, **{k: v for k, v in kwargs.items()
                                         if k != "trainable"})
    vocabulary = list(vocabulary)
    if unknown_token not in vocabulary:
      raise ValueError(f"unknown_token {unknown_token!r} is not in the vocabulary")
    if vocabulary[0] == unknown_token:
      raise ValueError("vocabulary[0] must be a padding token, not the "
                       "unknown token")
    self.vocabulary = vocabulary
    self.lowercase = bool(lowercase)
    self.suffix_indicator = suffix_indicator
    self.unknown_token = unknown_token
    self.unknown_id = vocabulary.index(unknown_token)
    self.wordpiece = tf_text.FastWordpieceTokenizer(
        vocab=vocabulary, suffix_indicator=suffix_indicator,
        unknown_token=unknown_token, token_out_type=tf.int32,
        no_pretokenization=False, support_detokenization=False)

  @property
  def vocabulary_size(self) -> int:
    return len(self.vocabulary)

  def call(self, inputs):
    words = split_words(inputs, lowercase=self.lowercase)  # [batch, (words)]
    pieces = self.wordpiece.tokenize(words.flat_values)  # [words, (pieces)]
    pieces = pieces.with_row_splits_dtype(tf.int64)
    # One unknown token for each word without a piece.
    empty = tf.cast(tf.equal(pieces.row_lengths(), 0), tf.int64)
    extra = tf.RaggedTensor.from_row_lengths(
        tf.fill([tf.reduce_sum(empty)], tf.constant(self.unknown_id, tf.int32)),
        empty)
    pieces = tf.concat([pieces, extra], axis=1)
    word_splits = tf.cast(words.row_splits, tf.int64)
    piece_splits = pieces.row_splits  # Global piece index of each word start.
    sentence_splits = tf.gather(piece_splits, word_splits)
    # A static batch size stays static (see WordVocabLookup).
    batch_shape = [inputs.shape[0], None]
    piece_ids = tf.RaggedTensor.from_row_splits(
        pieces.flat_values, sentence_splits).to_tensor(default_value=0,
                                                       shape=batch_shape)
    local_starts = piece_splits[:-1] - tf.gather(
        sentence_splits, words.value_rowids())
    word_starts = tf.RaggedTensor.from_row_splits(
        tf.cast(local_starts, tf.int32), word_splits).to_tensor(
            default_value=-1, shape=batch_shape)
    return [_at_least_one_column(piece_ids, 0),
            _at_least_one_column(word_starts, -1)]

  def compute_output_shape(self, input_shape):
    return [tf.TensorShape([input_shape[0], None])] * 2

  def get_config(self):
    config = super().get_config()
    config.update({"vocabulary": list(self.vocabulary),
                   "lowercase": self.lowercase,
                   "suffix_indicator": self.suffix_indicator,
                   "unknown_token": self.unknown_token})
    return config


def _at_least_one_column(x, value):
  pad = tf.maximum(1 - tf.shape(x)[1], 0)
  return tf.pad(x, [[0, 0], [0, pad]], constant_values=value)
