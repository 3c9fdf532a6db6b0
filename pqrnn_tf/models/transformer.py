"""The Transformer baseline: word + position embeddings -> pre-LN encoder -> heads."""
from __future__ import annotations

from typing import Sequence

import tensorflow as tf
import tf_keras as keras

from pqrnn_tf.layers.position_embedding import AddPositionEmbedding
from pqrnn_tf.layers.transformer_encoder_block import TransformerEncoderBlock
from pqrnn_tf.models import word_inputs
from pqrnn_tf.models.config import ModelConfig
from pqrnn_tf.models.heads import attach_heads

_ENCODER_KEYS = ("hidden_dim", "num_layers", "num_heads", "intermediate_dim",
                 "max_length", "dropout", "activation")


def build_transformer(config: ModelConfig, num_intents: int, num_tags: int,
                      train_texts: Sequence[str] | None = None) -> keras.Model:
  """A Transformer encoder over raw strings `[batch]` (see `attach_heads`).

  Trainable word embeddings of the training vocabulary (`config.projection`,
  "word_vocab" tokenizer; the embedding size is `encoder.hidden_dim`) plus
  learned absolute positions, `num_layers` pre-LN encoder blocks attending
  over the valid words only, and a final layer normalization.

  `config.encoder`: `hidden_dim` (128), `num_layers` (4), `num_heads` (4),
  `intermediate_dim` (4 * hidden_dim), `max_length` (128; later positions
  share the last position vector), `dropout` (0.1), `activation` ("gelu").
  """
  encoder = dict(config.encoder)
  unknown = set(encoder) - set(_ENCODER_KEYS)
  if unknown:
    raise ValueError(f"Unknown transformer encoder keys {sorted(unknown)}; "
                     f"valid: {sorted(_ENCODER_KEYS)}")
  if word_inputs.tokenizer_kind(config.projection) != word_inputs.WORD_VOCAB:
    raise ValueError("The transformer baseline supports the 'word_vocab' "
                     "tokenizer only")
  if "embedding_dim" in config.projection:
    raise ValueError("Set the transformer's embedding size with "
                     "encoder.hidden_dim, not projection.embedding_dim")
  hidden_dim = encoder.get("hidden_dim", 128)
  dropout = encoder.get("dropout", 0.1)
  texts = keras.Input(shape=(), dtype=tf.string, name="text")
  x = word_inputs.word_vocab_embeddings(texts, config.projection, train_texts,
                                        embedding_dim=hidden_dim)
  x = AddPositionEmbedding(encoder.get("max_length", 128),
                           name="position_embedding")(x)
  x = keras.layers.Dropout(dropout, name="embedding_dropout")(x)
  for i in range(encoder.get("num_layers", 4)):
    x = TransformerEncoderBlock(
        num_heads=encoder.get("num_heads", 4),
        intermediate_dim=encoder.get("intermediate_dim", 4 * hidden_dim),
        dropout=dropout, activation=encoder.get("activation", "gelu"),
        name=f"encoder_{i}")(x)
  x = keras.layers.LayerNormalization(epsilon=1e-6, name="final_norm")(x)
  return attach_heads(texts, x, num_intents, num_tags, name="transformer",
                      **config.head)
