"""The LSTM baselines: word embeddings -> bidirectional LSTM stack -> heads.

Two input variants, picked by the preset's `projection.tokenizer`:

* "word_vocab" (`lstm_vocab`): trainable embeddings of the training
  vocabulary's words.
* "minilm_wordpiece" (`lstm_pretrained`, the paper's "LSTM with pre-trained
  embeddings"): FROZEN word-piece embeddings of all-MiniLM-L6-v2. The LSTMs
  run over the word pieces (so every piece of a word informs its neighbours),
  then each word takes the state of its first piece, so slot outputs are per
  word like every other model's.
"""
from __future__ import annotations

from typing import Sequence

import tensorflow as tf
import tf_keras as keras

from pqrnn_tf.layers.bidirectional_lstm import BidirectionalLSTM
from pqrnn_tf.layers.first_subword_gather import FirstSubwordGather
from pqrnn_tf.models import word_inputs
from pqrnn_tf.models.config import ModelConfig
from pqrnn_tf.models.heads import attach_heads


def build_lstm(config: ModelConfig, num_intents: int, num_tags: int,
               train_texts: Sequence[str] | None = None) -> keras.Model:
  """An LSTM model over raw strings `[batch]`; see `attach_heads` for outputs.

  `config.encoder`: `units` (per direction, 128), `num_layers` (2) and
  `dropout` (on each LSTM layer's inputs, 0.0).
  """
  encoder = dict(config.encoder)
  units = encoder.pop("units", 128)
  num_layers = encoder.pop("num_layers", 2)
  dropout = encoder.pop("dropout", 0.0)
  if encoder:
    raise ValueError(f"Unknown LSTM encoder keys {sorted(encoder)}; valid: "
                     "['dropout', 'num_layers', 'units']")
  kind = word_inputs.tokenizer_kind(config.projection)
  texts = keras.Input(shape=(), dtype=tf.string, name="text")
  word_starts = None
  if kind == word_inputs.WORD_VOCAB:
    x = word_inputs.word_vocab_embeddings(texts, config.projection, train_texts)
  else:
    x, word_starts = word_inputs.minilm_wordpiece_embeddings(
        texts, config.projection)
  for i in range(num_layers):
    x = BidirectionalLSTM(units, dropout=dropout, name=f"bilstm_{i}")(x)
  if word_starts is not None:
    x = FirstSubwordGather(name="first_subword")([x, word_starts])
  return attach_heads(texts, x, num_intents, num_tags, name="lstm",
                      **config.head)
