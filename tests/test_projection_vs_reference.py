"""The C++ op against the spec: golden vectors and an independent Python reference."""
import json
import os

import numpy as np
import pytest
import tensorflow as tf
from hypothesis import given, settings, strategies as st

from pqrnn_tf import ops
from tests import projection_reference as ref

GOLDEN = os.path.join(os.path.dirname(__file__), "golden_projection.json")


def golden_rows(rows, feature_size):
  dense = np.zeros((len(rows), feature_size), np.float32)
  for i, row in enumerate(rows):
    dense[i, row.get("plus", [])] = 1.0
    dense[i, row.get("minus", [])] = -1.0
    for index, value in row.get("values", []):
      dense[i, index] = np.float32(value)
  return dense


def op_output(texts, call_index=0, **attributes):
  """Runs a fresh kernel `call_index + 1` times; returns the last output."""
  fn = tf.function(lambda x: ops.sequence_string_projection(x, **attributes))
  for _ in range(call_index + 1):
    features, lengths = fn(tf.constant(texts, dtype=tf.string))
  return features.numpy(), lengths.numpy()


def golden_cases():
  with open(GOLDEN) as f:
    golden = json.load(f)
  for case in golden["cases"]:
    for setting, result in case["results"].items():
      yield pytest.param(golden, case, setting, result,
                         id=f"{case['name']}-{setting}")


@pytest.mark.parametrize("golden,case,setting,result", list(golden_cases()))
def test_op_reproduces_golden_vectors(golden, case, setting, result):
  attributes = dict(golden["settings"][setting])
  call_index = attributes.pop("call_index", 0)
  features, lengths = op_output([bytes.fromhex(case["input_hex"])], call_index,
                                feature_size=golden["feature_size"], **attributes)
  assert lengths[0] == result["sequence_length"]
  want = golden_rows(result["rows"], golden["feature_size"])
  assert features.shape[1] == max(1, len(want))  # never zero-size
  assert features[0, :len(want)].tobytes() == want.tobytes()
  assert not features[0, len(want):].any()


ATTRIBUTES = st.fixed_dictionaries({}, optional={
    "feature_size": st.integers(1, 100),
    "max_tokens": st.integers(0, 6),
    "lowercase": st.booleans(),
    "separators": st.sampled_from(["", ",", ".,;", "é-", "。"]),
    "split_unsegmented_scripts": st.booleans(),
    "max_repeated_chars": st.integers(0, 3),
    "add_bos": st.booleans(),
    "add_eos": st.booleans(),
    "char_ngram_size": st.integers(0, 8),
    "distortion_probability": st.sampled_from([0.0, 0.25, 0.5, 1.0]),
    "distortion_seed": st.integers(-2**63, 2**63 - 1),
})


@settings(max_examples=150, deadline=None)
@given(texts=st.lists(st.one_of(st.text(max_size=40), st.binary(max_size=40)),
                      min_size=1, max_size=8),
       attributes=ATTRIBUTES)
def test_op_matches_reference_on_random_input(texts, attributes):
  texts = [t.encode("utf-8", "surrogatepass") if isinstance(t, str) else t
           for t in texts]
  want_f, want_l = ref.project(texts, **attributes)
  got_f, got_l = op_output(texts, **attributes)
  np.testing.assert_array_equal(got_l, want_l)
  assert got_f.shape == want_f.shape
  assert got_f.tobytes() == want_f.tobytes()


def test_lowercase_table_matches_python_for_every_code_point():
  # One token per code point, so each lowercases alone.
  code_points = [c for c in range(0x110000)
                 if not 0xD800 <= c <= 0xDFFF and chr(c).lower() != chr(c)]
  text = " ".join(chr(c) for c in code_points).encode("utf-8")
  upper, _ = op_output([text], feature_size=64, split_unsegmented_scripts=False)
  lower_text = " ".join(chr(ref.lower_code_point(c)) for c in code_points)
  lower, _ = op_output([lower_text.encode()], feature_size=64,
                       split_unsegmented_scripts=False, lowercase=False)
  mismatched = [hex(c) for c, a, b in zip(code_points, upper[0], lower[0])
                if not np.array_equal(a, b)]
  assert not mismatched, mismatched[:20]


@pytest.mark.parametrize("length", [32766, 32767, 70000])
def test_op_matches_reference_on_a_token_of_many_ngrams(length):
  # A token of length L has L + 1 keys with trigrams; the kernel sums them in
  # 16-bit lanes, emptied into 32-bit sums every 32,767 keys.
  rng = np.random.default_rng(length)
  token = bytes(rng.choice(list(b"abc"), size=length).astype(np.uint8))
  texts = [b"x " + token + b" y", b"short"]
  for feature_size in (40, 64):
    want_f, want_l = ref.project(texts, feature_size=feature_size, char_ngram_size=3)
    got_f, got_l = op_output(texts, feature_size=feature_size, char_ngram_size=3)
    np.testing.assert_array_equal(got_l, want_l)
    assert got_f.tobytes() == want_f.tobytes()
