"""Token boundaries recomputed in Python (pqrnn_tf.data.tokens) == the projection op's."""
import dataclasses

import numpy as np
import pytest
import tensorflow as tf
from hypothesis import given, settings, strategies as st

from pqrnn_tf import ops
from pqrnn_tf.data.examples import Example
from pqrnn_tf.data.tokens import NO_WORD, Tokenization
from pqrnn_tf.train import evaluation, trainer
from tests import projection_reference as reference

SETTINGS = [Tokenization(), Tokenization.words(), Tokenization(max_tokens=3),
            Tokenization(separators="-/", add_bos=True, add_eos=True),
            Tokenization(lowercase=False, separators="X", split_unsegmented_scripts=False)]
ALPHABET = st.sampled_from(list("ab XY-/\t\u3000\u00a0é") + ["北", "京", "ก", "ไ", "カ", "\u001c", "\u2028"])


@settings(max_examples=80, deadline=None)
@given(text=st.one_of(st.text(ALPHABET, max_size=30), st.text(max_size=30)),
       setting=st.sampled_from(SETTINGS))
def test_spans_match_the_op_and_the_reference(text, setting):
  attributes = {f.name: getattr(setting, f.name) for f in dataclasses.fields(setting)}
  _, lengths = ops.sequence_string_projection(tf.constant([text]), feature_size=8,
                                              **attributes)
  assert int(lengths[0]) == len(setting.row_words(text))
  spans = setting.spans(text)
  tokens = reference.text_tokens(
      text, max_tokens=setting.max_tokens, lowercase=setting.lowercase,
      separators=setting.separators,
      split_unsegmented_scripts=setting.split_unsegmented_scripts)
  lowered = [[reference.lower_code_point(ord(c)) if setting.lowercase else ord(c)
              for c in text[s:e]] for s, e in spans]
  assert lowered == tokens


def test_cjk_tags_land_on_the_right_rows():
  """Hand-checked: 北京 is one word (B-city) and two rows (B-city, I-city)."""
  text = "飞往 北京 的 航班"
  cut = Tokenization(split_unsegmented_scripts=True)
  assert [text[s:e] for s, e in cut.spans(text)] == ["飞", "往", "北", "京", "的", "航", "班"]
  assert cut.row_words(text) == [0, 0, 1, 1, 2, 3, 3]
  assert cut.row_tags(text, ["O", "B-city", "O", "O"]) == [
      "O", "O", "B-city", "I-city", "O", "O", "O"]
  assert cut.word_tags(text, ["O", "O", "B-city", "I-city", "O", "O", "O"]) == [
      "O", "B-city", "O", "O"]


def test_thai_latin_mix_bos_eos_and_separators():
  text = "fly ไปกรุง to new-york"
  cut = Tokenization(separators="-", add_bos=True, add_eos=True)
  assert [text[s:e] for s, e in cut.spans(text)] == [
      "fly", "ไ", "ป", "ก", "ร", "ุ", "ง", "to", "new", "york"]
  assert cut.row_words(text) == [NO_WORD, 0, 1, 1, 1, 1, 1, 1, 2, 3, 3, NO_WORD]
  tags = cut.row_tags(text, ["O", "B-city", "O", "B-city"])
  assert tags == ["O", "O", "B-city"] + ["I-city"] * 5 + ["O", "B-city", "I-city", "O"]
  assert cut.word_tags(text, tags) == ["O", "B-city", "O", "B-city"]


def test_words_past_the_limit_are_outside():
  cut = Tokenization(max_tokens=2)
  assert cut.word_tags("a b c", ["B-x", "I-x"]) == ["B-x", "I-x", "O"]


def test_cjk_tagged_data_trains_with_split_unsegmented_scripts(tmp_path, trainable_config):
  cities = ["北京", "上海", "广州", "深圳"]
  train = [Example(f"飞往 {c} 的 航班", "flight", ("O", "B-city", "O", "O")) for c in cities]
  train += [Example(f"{c} 天气", "weather", ("B-city", "O")) for c in cities]
  model_config = trainable_config(projection={"split_unsegmented_scripts": True})
  config = trainer.make_config(model_config, train, epochs=100, batch_size=8, patience=100,
                               learning_rate=1e-2, plateau_decay=1.0)  # memorize: constant rate
  model = trainer.train(config, str(tmp_path / "run"), train, train, verbose=0)
  intents, tags = config.vocabs()
  _, predicted = evaluation.predict(model, train, intents, tags)
  assert [list(p) for p in predicted] == [list(e.tags) for e in train]
