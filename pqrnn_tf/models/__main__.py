"""Lists the model presets with their parameter counts (on ATIS's label sets).

  python -m pqrnn_tf.models
"""
from __future__ import annotations

import pqrnn_tf  # noqa: F401

from pqrnn_tf.data import readers
from pqrnn_tf.data.examples import build_intent_vocab, build_tag_vocab
from pqrnn_tf.models import build_model, list_presets, load_preset


def preset_table() -> list[tuple[str, str, int, str]]:
  """(preset, model family, parameters, description) on ATIS's labels."""
  train = readers.read_atis("train")
  num_intents, num_tags = len(build_intent_vocab(train)), len(build_tag_vocab(train))
  texts = [e.text for e in train]
  rows = []
  for name in list_presets():
    config = load_preset(name)
    try:
      params = build_model(config, num_intents, num_tags, train_texts=texts).count_params()
    except ImportError as e:  # e.g. the pretrained checkpoint is not installed
      params, config.description = -1, f"{config.description} ({e})"
    rows.append((name, config.model, params, config.description))
  return rows


def main() -> None:
  print("| preset | model | parameters (ATIS labels) | description |\n|---|---|---|---|")
  for name, model, params, description in preset_table():
    print(f"| {name} | {model} | {params:,} | {description} |")


if __name__ == "__main__":
  main()
