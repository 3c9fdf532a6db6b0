"""Preset sections are checked (keys, types) before anything is built or written."""
import os

import pytest

from pqrnn_tf.data.examples import Example
from pqrnn_tf.models import ModelConfig, check_config, load_preset
from pqrnn_tf.train import trainer

TRAIN = [Example("flights to boston", "flight", ("O", "O", "B-city")),
         Example("fares to denver", "fare", ("O", "O", "B-city"))]


def pqrnn(**sections):
  base = load_preset("pqrnn_small").to_dict()
  for name, values in sections.items():
    base[name] = {**base[name], **values}
  return ModelConfig.from_dict(base)


@pytest.mark.parametrize("sections, message", [
    (dict(encoder={"unitz": 64}), r"encoder\.unitz: unknown key"),
    (dict(projection={"feature_sise": 64}), r"projection\.feature_sise: unknown key"),
    (dict(head={"pooling": 3}), r"head\.pooling: expected str, got int"),
    (dict(encoder={"units": 64.5}), r"encoder\.units: expected int, got float"),
    (dict(encoder={"num_layers": "2"}), r"encoder\.num_layers: expected int, got str"),
    (dict(projection={"lowercase": 1}), r"projection\.lowercase: expected bool, got int"),
    (dict(bottleneck={"dropout": True}), r"bottleneck\.dropout: expected float, got bool"),
])
def test_bad_sections_are_refused_with_the_key_path(sections, message):
  config = pqrnn(**sections)
  with pytest.raises(ValueError, match=message):
    check_config(config)
  with pytest.raises(ValueError, match=message):
    trainer.make_config(config, TRAIN)


def test_missing_required_key_is_named():
  config = ModelConfig.from_dict({"model": "pqrnn", "encoder": {"units": 8}})
  with pytest.raises(ValueError, match=r"bottleneck\.units: required"):
    check_config(config)


def test_every_preset_passes():
  for name in ("pqrnn_base", "pqrnn_small", "pqrnn_classifier", "lstm_vocab", "transformer_base",
               "lstm_pretrained"):
    check_config(load_preset(name))


def test_integral_float_dropout_and_int_for_float_are_fine():
  check_config(pqrnn(bottleneck={"dropout": 0}, encoder={"zoneout": 0.25}))


def test_a_bad_value_found_at_build_time_leaves_no_config(tmp_path):
  config = trainer.make_config(pqrnn(encoder={"units": -4}), TRAIN, epochs=1)
  model_dir = str(tmp_path / "run")
  with pytest.raises(ValueError, match="units"):
    trainer.train(config, model_dir, TRAIN, TRAIN, verbose=0)
  assert not os.path.exists(os.path.join(model_dir, trainer.CONFIG_FILE))
  trainer.train(trainer.make_config(pqrnn(), TRAIN, epochs=1), model_dir, TRAIN, TRAIN,
                verbose=0)  # The fixed config is not refused as a different run.
