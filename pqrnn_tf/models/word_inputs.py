"""String-in inputs of the baselines: word ids from a training vocabulary, or
frozen pre-trained word-piece embeddings. Configured by the preset's
`projection` section, whose "tokenizer" key picks one:

  {"tokenizer": "word_vocab", "embedding_dim": 200, "min_count": 1,
   "max_vocab_size": null, "lowercase": true}
  {"tokenizer": "minilm_wordpiece"}
"""
from __future__ import annotations

from typing import Any, Sequence

import tf_keras as keras

from pqrnn_tf.layers.word_vocab_lookup import WordVocabLookup, build_word_vocabulary
from pqrnn_tf.layers.wordpiece_tokenizer import WordPieceTokenizer

WORD_VOCAB = "word_vocab"
MINILM_WORDPIECE = "minilm_wordpiece"
_KEYS = {
    WORD_VOCAB: {"tokenizer", "embedding_dim", "min_count", "max_vocab_size",
                 "lowercase"},
    MINILM_WORDPIECE: {"tokenizer"},
}


def tokenizer_kind(projection: dict[str, Any]) -> str:
  kind = projection.get("tokenizer", WORD_VOCAB)
  if kind not in _KEYS:
    raise ValueError(f"projection.tokenizer must be one of {sorted(_KEYS)}, "
                     f"got {kind!r}")
  unknown = set(projection) - _KEYS[kind]
  if unknown:
    raise ValueError(f"Unknown projection keys {sorted(unknown)} for tokenizer "
                     f"{kind!r}; valid: {sorted(_KEYS[kind])}")
  return kind


def word_vocab_embeddings(texts, projection: dict[str, Any],
                          train_texts: Sequence[str] | None,
                          embedding_dim: int | None = None):
  """`[batch]` strings -> masked `[batch, words, dim]` trainable embeddings.

  The vocabulary is built from `train_texts` (deterministically, so a resumed
  run rebuilds the same one) and stored in the `WordVocabLookup` layer's
  config, so a saved model needs no training data.
  """
  tokenizer_kind(projection)
  if not train_texts:
    raise ValueError("A word-vocabulary model needs train_texts to build its "
                     "vocabulary (build_model(..., train_texts=[...])).")
  lowercase = projection.get("lowercase", True)
  vocabulary = build_word_vocabulary(
      train_texts, min_count=projection.get("min_count", 1),
      max_size=projection.get("max_vocab_size"), lowercase=lowercase)
  lookup = WordVocabLookup(vocabulary, lowercase=lowercase, name="word_lookup")
  dim = embedding_dim or projection.get("embedding_dim", 200)
  ids = lookup(texts)
  return keras.layers.Embedding(lookup.vocabulary_size, dim, mask_zero=True,
                                name="word_embedding")(ids)


def minilm_wordpiece_embeddings(texts, projection: dict[str, Any]):
  """`[batch]` strings -> (masked `[batch, pieces, 384]` FROZEN embeddings,
  `word_starts` `[batch, words]`) from the all-MiniLM-L6-v2 checkpoint.

  The embedding matrix is set after building (never put in a layer config),
  is not trainable, and counts in `model.count_params()`.
  """
  from pqrnn_tf.models import pretrained  # pylint: disable=g-import-not-at-top
  tokenizer_kind(projection)
  matrix = pretrained.minilm_embeddings()
  vocabulary = pretrained.minilm_vocabulary()
  if len(vocabulary) != matrix.shape[0]:
    raise ValueError(f"vocab.txt has {len(vocabulary)} tokens but the embedding "
                     f"matrix has {matrix.shape[0]} rows")
  tokenizer = WordPieceTokenizer(vocabulary,
                                 lowercase=pretrained.minilm_lowercase(),
                                 name="wordpiece_tokenizer")
  piece_ids, word_starts = tokenizer(texts)
  embedding = keras.layers.Embedding(matrix.shape[0], matrix.shape[1],
                                     mask_zero=True, trainable=False,
                                     name="pretrained_embedding")
  pieces = embedding(piece_ids)
  embedding.set_weights([matrix])
  return pieces, word_starts
