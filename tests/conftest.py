"""Shared fixtures: tiny model configs and sentences used across the tests."""
import copy
import os

import pytest

# tfmot needs Keras 2 (tf_keras); pqrnn_tf/__init__.py sets the same before
# TensorFlow is imported, which a test may import first.
os.environ.setdefault("TF_USE_LEGACY_KERAS", "1")
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

#: Sizes of a small pQRNN: fast to build, convert and run.
TINY_PQRNN = {"model": "pqrnn", "projection": {"feature_size": 64, "char_ngram_size": 3},
              "bottleneck": {"units": 32}, "encoder": {"units": 16, "num_layers": 2}}
#: Smaller still, for tests that train one.
TRAINABLE_PQRNN = {"model": "pqrnn", "projection": {"feature_size": 32},
                   "bottleneck": {"units": 16}, "encoder": {"units": 8, "num_layers": 1}}
#: Short sentences of different lengths, and an empty one last.
TEXTS = ("book a flight to boston", "what is the fare", "show me ground transport",
         "flights from denver to pittsburgh tomorrow morning", "hi", "")


def _model_config(base: dict, overrides: dict):
  """`base` with each section of `overrides` merged in (a dict updates the
  section, anything else replaces it), as a ModelConfig."""
  from pqrnn_tf.models import ModelConfig  # pylint: disable=g-import-not-at-top
  config = copy.deepcopy(base)
  for section, value in overrides.items():
    if isinstance(value, dict):
      config.setdefault(section, {}).update(value)
    else:
      config[section] = value
  return ModelConfig.from_dict(config)


@pytest.fixture(scope="session")
def tiny_config():
  """`tiny_config(**sections)`: the ModelConfig of TINY_PQRNN, sections merged in."""
  return lambda **overrides: _model_config(TINY_PQRNN, overrides)


@pytest.fixture(scope="session")
def trainable_config():
  """`trainable_config(**sections)`: the ModelConfig of TRAINABLE_PQRNN, sections merged in."""
  return lambda **overrides: _model_config(TRAINABLE_PQRNN, overrides)


@pytest.fixture(scope="session")
def texts() -> tuple[str, ...]:
  """TEXTS (a tuple: the tests share it)."""
  return TEXTS
