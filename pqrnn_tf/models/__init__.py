"""Models over raw strings: pQRNN and the baselines it is compared with."""
from __future__ import annotations

import tf_keras as keras

from pqrnn_tf.models.config import ModelConfig, list_presets, load_preset
from pqrnn_tf.models.heads import INTENT_OUTPUT, SLOTS_OUTPUT


def build_model(config: ModelConfig, num_intents: int, num_tags: int,
                train_texts: list[str] | None = None) -> keras.Model:
  """Builds the model named by `config.model`.

  `train_texts` lets models with a vocabulary build it; pQRNN needs none.
  """
  config.validate()
  if config.model == "pqrnn":
    from pqrnn_tf.models.pqrnn import build_pqrnn  # pylint: disable=g-import-not-at-top
    return build_pqrnn(config, num_intents, num_tags)
  if config.model == "lstm":
    from pqrnn_tf.models.lstm import build_lstm  # pylint: disable=g-import-not-at-top
    return build_lstm(config, num_intents, num_tags, train_texts=train_texts)
  from pqrnn_tf.models.transformer import build_transformer  # pylint: disable=g-import-not-at-top
  return build_transformer(config, num_intents, num_tags, train_texts=train_texts)


__all__ = ["INTENT_OUTPUT", "SLOTS_OUTPUT", "ModelConfig", "build_model",
           "list_presets", "load_preset"]
