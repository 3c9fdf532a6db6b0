"""The projection op: TF vs TFLite parity, edge inputs and attribute errors."""
import warnings

import numpy as np
import pytest
import tensorflow as tf
from hypothesis import HealthCheck, given, settings, strategies as st

from pqrnn_tf import ops
from tests import tflite_helpers as th

warnings.filterwarnings("ignore", message=".*tf.lite.Interpreter is deprecated.*")

# The parity table: attribute settings every runtime must agree on.
SETTINGS = {
    "defaults": {},
    "small_features": {"feature_size": 7},
    "large_features": {"feature_size": 4096},
    "bos_eos_truncate": {"add_bos": True, "add_eos": True, "max_tokens": 3},
    "ngrams": {"char_ngram_size": 3, "feature_size": 96},
    "no_lowercase_separators": {"lowercase": False, "separators": ",.;!?"},
    "no_script_split_repeats": {"split_unsegmented_scripts": False,
                                "max_repeated_chars": 2},
}

EDGE_TEXTS = [
    b"",
    b"   \t\n ",
    b"Hello World",
    "Crème Brûlée À Paris ΣΑΣ İstanbul".encode(),
    "مرحبا بالعالم".encode(),
    "नमस्ते दुनिया".encode(),
    "我爱北京天安门 東京タワー".encode(),
    "สวัสดีครับ".encode(),
    "ok 👍🏽 🇫🇷 cool!!!".encode(),
    b"\xff\xfe invalid \xc0\x80 overlong \xed\xa0\x80 surrogate \xf4\x90\x80\x80",
    b"nul\x00inside \x00",
    b"truncated \xe6\x97",
    b"word " * 300,
]


@pytest.fixture(scope="module")
def model_dir(tmp_path_factory):
  return str(tmp_path_factory.mktemp("projection_models"))


def interpreters(model_dir, attributes):
  path = th.cached_model_path(model_dir, tuple(sorted(attributes.items())))
  return {runtime: th.load(path, runtime) for runtime in ("litert", "tf")}


@pytest.mark.parametrize("name", sorted(SETTINGS))
def test_parity_table_on_edge_inputs(model_dir, name):
  attributes = SETTINGS[name]
  want_f, want_l = th.run_tf(EDGE_TEXTS, **attributes)
  for runtime, interpreter in interpreters(model_dir, attributes).items():
    got_f, got_l = th.run_tflite(interpreter, EDGE_TEXTS)
    np.testing.assert_array_equal(got_l, want_l, err_msg=f"{name}/{runtime}")
    assert got_f.shape == want_f.shape
    # Bit-identical, not merely close.
    assert got_f.tobytes() == want_f.tobytes(), f"{name}/{runtime}"


def test_long_text_and_batch_sizes(model_dir):
  rng = np.random.default_rng(0)
  long_text = ("ab cd " * 20000).encode()[:100_000]
  # Small features: the batch is padded to the 33k-token sentence.
  attributes = SETTINGS["small_features"]
  interpreter = interpreters(model_dir, attributes)["litert"]
  for batch in (1, 2, 17, 64):
    texts = [long_text if i == 0 else b"x " * int(rng.integers(0, 40))
             for i in range(batch)]
    want_f, want_l = th.run_tf(texts, **attributes)
    got_f, got_l = th.run_tflite(interpreter, texts)
    np.testing.assert_array_equal(got_l, want_l)
    assert got_f.tobytes() == want_f.tobytes()
  assert want_l[0] == 33334  # "ab cd " repeated: 2 tokens per 6 bytes


@settings(max_examples=60, deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(texts=st.lists(st.one_of(st.text(max_size=60), st.binary(max_size=60)),
                      min_size=1, max_size=64),
       name=st.sampled_from(sorted(SETTINGS)))
def test_parity_on_random_unicode_and_bytes(model_dir, texts, name):
  texts = [t.encode("utf-8", "surrogatepass") if isinstance(t, str) else t
           for t in texts]
  attributes = SETTINGS[name]
  want_f, want_l = th.run_tf(texts, **attributes)
  got_f, got_l = th.run_tflite(interpreters(model_dir, attributes)["litert"], texts)
  np.testing.assert_array_equal(got_l, want_l)
  assert got_f.tobytes() == want_f.tobytes()


def test_outputs_are_ternary_and_padding_is_zero():
  features, lengths = th.run_tf([b"a b c", b"d", b""], feature_size=64)
  assert features.shape == (3, 3, 64)
  np.testing.assert_array_equal(lengths, [3, 1, 0])
  assert set(np.unique(features)) <= {-1.0, 0.0, 1.0}
  assert not features[1, 1:].any() and not features[2].any()
  # Same token, same vector; case folded by default.
  f2, _ = th.run_tf([b"D"], feature_size=64)
  np.testing.assert_array_equal(f2[0, 0], features[1, 0])


def test_static_shapes_survive_tracing():
  fn = tf.function(lambda x: ops.sequence_string_projection(x, feature_size=33))
  features, lengths = fn.get_concrete_function(
      tf.TensorSpec([None], tf.string)).structured_outputs
  assert features.shape.as_list() == [None, None, 33]
  assert lengths.shape.as_list() == [None]
  assert lengths.dtype == tf.int32


@pytest.mark.parametrize("attribute,value", [
    ("feature_size", 0), ("feature_size", 16385), ("max_tokens", -1),
    ("max_repeated_chars", -2), ("char_ngram_size", 9),
    ("distortion_probability", 1.5), ("distortion_probability", float("nan")),
    ("separators", "\udcff"),
])
def test_invalid_attributes_name_the_attribute(attribute, value):
  if attribute == "separators":  # not valid UTF-8 once encoded
    value = b"\xff"
  # Eager.
  with pytest.raises(tf.errors.InvalidArgumentError, match=attribute):
    ops.sequence_string_projection(tf.constant(["a"]), **{attribute: value})
  # Graph construction (the shape function validates at tracing time).
  fn = tf.function(
      lambda x: ops.sequence_string_projection(x, **{attribute: value}))
  with pytest.raises((tf.errors.InvalidArgumentError, ValueError), match=attribute):
    fn.get_concrete_function(tf.TensorSpec([None], tf.string))


def test_unknown_attribute_and_wrong_rank():
  with pytest.raises(TypeError, match="feature_sise"):
    ops.sequence_string_projection(tf.constant(["a"]), feature_sise=3)
  with pytest.raises((tf.errors.InvalidArgumentError, ValueError), match="rank|vector"):
    ops.sequence_string_projection(tf.constant([["a"]]))


def test_defaults_come_from_the_op_registration():
  defaults = ops.projection_defaults()
  assert defaults["feature_size"] == 512 and defaults["lowercase"] is True
  assert defaults["separators"] == "" and defaults["char_ngram_size"] == 0


def test_distortion_is_deterministic_per_fresh_kernel(model_dir):
  attributes = {"distortion_probability": 0.5, "distortion_seed": 7,
                "feature_size": 32}
  texts = [b"the quick brown fox", b"jumps over"]
  path = th.cached_model_path(model_dir, tuple(sorted(attributes.items())))
  first = [th.run_tflite(th.load(path, "litert"), texts)[0] for _ in range(2)]
  np.testing.assert_array_equal(first[0], first[1])  # fresh kernels agree
  interpreter = th.load(path, "litert")
  a = th.run_tflite(interpreter, texts)[0]
  b = th.run_tflite(interpreter, texts)[0]
  assert not np.array_equal(a, b)  # the call counter advances the noise
  clean = th.run_tf(texts, feature_size=32)[0]
  assert not np.array_equal(a, clean)
  # A fresh TF kernel (a new tf.function) reproduces the TFLite noise.
  fn = tf.function(lambda x: ops.sequence_string_projection(x, **attributes))
  np.testing.assert_array_equal(fn(tf.constant(texts))[0].numpy(), first[0])
