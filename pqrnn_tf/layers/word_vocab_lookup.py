"""The WordVocabLookup layer: raw sentences -> word ids of a fixed vocabulary."""
from __future__ import annotations

import collections
from typing import Iterable, Sequence

import tensorflow as tf
import tensorflow_text as tf_text
import tf_keras as keras

PAD_ID = 0
OOV_ID = 1
_PAD_TOKEN = " [pad]"
_OOV_TOKEN = " [oov]"
_SUFFIX_INDICATOR = " ##"
# Longer words are OOV (tensorflow_text's default is 100 bytes).
_MAX_BYTES_PER_WORD = 1000


def split_words(texts, lowercase: bool = True) -> tf.RaggedTensor:
  """`[batch]` strings -> ragged `[batch, (words)]` of (normalized) words.

  Words are split on Unicode whitespace (`tensorflow_text.WhitespaceTokenizer`,
  which, like Python's `str.split()`, drops empty words, so slot tags align
  with `text.split()`). With `lowercase`, each word gets BERT "uncased"
  normalization (`tensorflow_text.FastBertNormalizer`: Unicode lowercasing,
  NFD, accents stripped, control characters dropped). Both ops have TFLite
  kernels. Normalization never splits or merges words.
  """
  texts = tf.reshape(tf.convert_to_tensor(texts, dtype=tf.string), [-1])
  words = tf_text.WhitespaceTokenizer().tokenize(texts)
  if lowercase:
    normalizer = tf_text.FastBertNormalizer(lower_case_nfd_strip_accents=True)
    words = words.with_flat_values(normalizer.normalize(words.flat_values))
  return words


def build_word_vocabulary(texts: Iterable[str], min_count: int = 1,
                          max_size: int | None = None, lowercase: bool = True,
                          batch_size: int = 4096) -> list[str]:
  """The words of `texts` seen at least `min_count` times, most frequent first.

  Words are counted after the exact tokenization of `WordVocabLookup` (same
  TF ops), so every counted word is found by the layer. Ties are broken
  alphabetically, so the result is deterministic (a resumed training run
  rebuilds the same vocabulary). Empty words (possible after normalization)
  are left out: they map to the OOV id.

  Args:
    texts: training sentences.
    min_count: keep words seen at least this many times.
    max_size: keep at most this many words (None = no limit).
    lowercase: as in `WordVocabLookup`.
    batch_size: sentences tokenized at once.

  Returns:
    The vocabulary, a list of distinct non-empty strings.
  """
  texts = list(texts)
  counts = collections.Counter()
  for start in range(0, len(texts), batch_size):
    words = split_words(tf.constant(texts[start:start + batch_size], tf.string),
                        lowercase=lowercase)
    counts.update(w.decode("utf-8") for w in words.flat_values.numpy().tolist())
  counts.pop("", None)
  vocab = sorted((w for w, c in counts.items() if c >= min_count),
                 key=lambda w: (-counts[w], w))
  return vocab[:max_size] if max_size is not None else vocab


@keras.utils.register_keras_serializable(package="pqrnn_tf")
class WordVocabLookup(keras.layers.Layer):
  """Splits raw sentences into words and maps them to ids of a vocabulary.

  Id 0 is padding, id 1 is out-of-vocabulary, and `vocabulary[i]` has id
  `i + 2`, so `vocabulary_size = len(vocabulary) + 2` rows are needed in a
  following `keras.layers.Embedding(vocabulary_size, dim, mask_zero=True)`,
  which then carries the word mask.

  The time dimension is the largest word count of the batch, and at least 1
  (a batch of empty sentences gives one padding column), exactly like the
  `Projection` layer, so per-word outputs align with `text.split()`.

  Args:
    vocabulary: non-empty list of words (normalized as the layer normalizes,
      see `build_word_vocabulary`); no duplicates, no empty string.
    lowercase: apply BERT "uncased" normalization to each word (see
      `split_words`).
    **kwargs: other keyword arguments for `keras.layers.Layer`.

  Call arguments:
    inputs: string tensor `[batch]` or `[batch, 1]` of UTF-8 sentences.

  Returns:
    int32 `[batch, max(1, max_words)]`, 0 past each sentence's words.

  Example:

  >>> layer = WordVocabLookup(["a", "flight"])
  >>> layer(tf.constant(["Book a flight", ""])).numpy().tolist()
  [[1, 2, 3], [0, 0, 0]]
  """

  def __init__(self, vocabulary: Sequence[str], lowercase: bool = True,
               **kwargs):
    super().__init__(trainable=False, **{k: v for k, v in kwargs.items()
                                         if k != "trainable"})
    vocabulary = list(vocabulary)
    if len(set(vocabulary)) != len(vocabulary):
      raise ValueError("vocabulary has duplicate words")
    if not vocabulary:
      raise ValueError("vocabulary is empty")
    if "" in vocabulary:
      raise ValueError("vocabulary must not contain the empty string")
    if any(word.startswith(" ") for word in vocabulary):
      raise ValueError("vocabulary words must not start with a space (no "
                       "whitespace-split word does)")
    self.vocabulary = vocabulary
    self.lowercase = bool(lowercase)
    # A word-piece tokenizer whose pieces are whole words is an exact word
    # lookup with a TFLite kernel (`tensorflow_text`); a Keras StringLookup
    # would become a hash table resource that the TFLite converter drops. The
    # suffix indicator, padding and OOV tokens all contain a space, which no
    # whitespace-split word does: every word is one piece or unknown.
    self.wordpiece = tf_text.FastWordpieceTokenizer(
        vocab=[_PAD_TOKEN, _OOV_TOKEN] + vocabulary,
        suffix_indicator=_SUFFIX_INDICATOR, unknown_token=_OOV_TOKEN,
        max_bytes_per_word=_MAX_BYTES_PER_WORD, token_out_type=tf.int32,
        no_pretokenization=True, support_detokenization=False)

  @property
  def vocabulary_size(self) -> int:
    """Rows an embedding table needs: padding, OOV, then the vocabulary."""
    return len(self.vocabulary) + 2

  def call(self, inputs):
    words = split_words(inputs, lowercase=self.lowercase)
    # [words, (0 or 1)] ids; a word normalized to "" gives no piece -> OOV.
    pieces = self.wordpiece.tokenize(words.flat_values)
    ids = pieces.to_tensor(default_value=OOV_ID, shape=[None, 1])[:, 0]
    # A static batch size stays static (the TFLite converter fuses an LSTM
    # only if it knows the batch size).
    dense = words.with_flat_values(ids).to_tensor(
        default_value=PAD_ID, shape=[inputs.shape[0], None])
    # At least one (padding) column, also for a batch of empty sentences.
    pad = tf.maximum(1 - tf.shape(dense)[1], 0)
    return tf.pad(dense, [[0, 0], [0, pad]], constant_values=PAD_ID)

  def compute_output_shape(self, input_shape):
    return tf.TensorShape([input_shape[0], None])

  def get_config(self):
    config = super().get_config()
    config.update({"vocabulary": list(self.vocabulary),
                   "lowercase": self.lowercase})
    return config
