"""Models over raw strings: pQRNN and the baselines it is compared with."""
from __future__ import annotations

import inspect
from typing import Any, Callable

import tf_keras as keras

from pqrnn_tf.data.tokens import Tokenization
from pqrnn_tf.models.config import ModelConfig, list_presets, load_preset
from pqrnn_tf.models.heads import INTENT_OUTPUT, SLOTS_OUTPUT, attach_heads

# Types of the section keys that have no default to infer them from.
_REQUIRED_TYPES = {"units": int}
_NO_SECTION_KEYS = ("self", "inputs", "sequence", "num_intents", "num_tags", "name")


def _section_keys(*targets: Callable, extra: dict[str, Any] | None = None) -> dict:
  """{key: default (inspect.Parameter.empty if required)} of the arguments a
  section may set: the explicit keyword arguments of `targets`."""
  keys = dict(extra or {})
  for target in targets:
    for p in inspect.signature(target).parameters.values():
      if p.kind in (p.POSITIONAL_OR_KEYWORD, p.KEYWORD_ONLY) and p.name not in _NO_SECTION_KEYS:
        keys[p.name] = p.default
  return keys


def _check_type(path: str, value: Any, default: Any, key: str) -> None:
  expected = type(default) if default not in (None, inspect.Parameter.empty) else (
      _REQUIRED_TYPES.get(key))
  if expected is None:
    return
  ok = {bool: lambda v: isinstance(v, bool),
        int: lambda v: isinstance(v, int) and not isinstance(v, bool),
        float: lambda v: isinstance(v, (int, float)) and not isinstance(v, bool),
        str: lambda v: isinstance(v, str)}.get(expected, lambda v: True)(value)
  if not ok:
    raise ValueError(f"{path}: expected {expected.__name__}, got "
                     f"{type(value).__name__} ({value!r})")


def _check_section(name: str, values: dict, keys: dict) -> None:
  for key, value in values.items():
    if key not in keys:
      raise ValueError(f"{name}.{key}: unknown key; valid: {sorted(keys)}")
    _check_type(f"{name}.{key}", value, keys[key], key)
  for key, default in keys.items():
    if default is inspect.Parameter.empty and key not in values:
      raise ValueError(f"{name}.{key}: required")


def check_config(config: ModelConfig) -> ModelConfig:
  """Checks every section's keys and value types against the layer it
  configures (pQRNN: all four; baselines: the head, their builders check the
  rest). The message names the key's path, e.g. "encoder.units"."""
  config.validate()
  _check_section("head", config.head, _section_keys(attach_heads))
  if config.model == "pqrnn":
    from pqrnn_tf.layers import QRNN, Bottleneck, Projection  # pylint: disable=g-import-not-at-top
    # Projection's own defaults: its signature says None for the op's.
    _check_section("projection", config.projection, Projection.defaults())
    _check_section("bottleneck", config.bottleneck, _section_keys(Bottleneck.__init__))
    _check_section("encoder", config.encoder,
                   _section_keys(QRNN.__init__, extra={"num_layers": 2}))
  return config


def tokenization_of(model: keras.Model) -> Tokenization:
  """How `model` cuts sentences into rows: its `Projection` layer's settings,
  else (the word-vocabulary baselines) one row per whitespace word."""
  from pqrnn_tf.layers.projection import Projection  # pylint: disable=g-import-not-at-top
  for layer in model.submodules:
    if isinstance(layer, Projection):
      return Tokenization.from_projection(layer.get_config())
  return Tokenization.words()


def build_model(config: ModelConfig, num_intents: int, num_tags: int,
                train_texts: list[str] | None = None) -> keras.Model:
  """Builds the model named by `config.model`.

  `train_texts` lets models with a vocabulary build it; pQRNN needs none.
  """
  check_config(config)
  if config.model == "pqrnn":
    from pqrnn_tf.models.pqrnn import build_pqrnn  # pylint: disable=g-import-not-at-top
    return build_pqrnn(config, num_intents, num_tags)
  if config.model == "lstm":
    from pqrnn_tf.models.lstm import build_lstm  # pylint: disable=g-import-not-at-top
    return build_lstm(config, num_intents, num_tags, train_texts=train_texts)
  from pqrnn_tf.models.transformer import build_transformer  # pylint: disable=g-import-not-at-top
  return build_transformer(config, num_intents, num_tags, train_texts=train_texts)


__all__ = ["INTENT_OUTPUT", "SLOTS_OUTPUT", "ModelConfig", "build_model", "check_config",
           "list_presets", "load_preset", "tokenization_of"]
