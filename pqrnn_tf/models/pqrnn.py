"""The pQRNN model: projection -> bottleneck -> bidirectional QRNN stack -> heads."""
from __future__ import annotations

import tensorflow as tf
import tf_keras as keras

from pqrnn_tf.layers.bottleneck import Bottleneck
from pqrnn_tf.layers.projection import Projection
from pqrnn_tf.layers.qrnn import QRNN
from pqrnn_tf.models.config import ModelConfig
from pqrnn_tf.models.heads import attach_heads


def build_pqrnn(config: ModelConfig, num_intents: int, num_tags: int) -> keras.Model:
  """A pQRNN over raw strings `[batch]`; see `attach_heads` for the outputs."""
  encoder = dict(config.encoder)
  num_layers = encoder.pop("num_layers", 2)
  texts = keras.Input(shape=(), dtype=tf.string, name="text")
  x = Projection(name="projection", **config.projection)(texts)
  x = Bottleneck(name="bottleneck", **config.bottleneck)(x)
  for i in range(num_layers):
    x = QRNN(name=f"qrnn_{i}", **encoder)(x)
  return attach_heads(texts, x, num_intents, num_tags, name="pqrnn",
                      **config.head)
