"""Every export (float, dynamic, int8) answers every string, in both runtimes.

A small pQRNN is trained on part of ATIS, exported three ways, and run on
inputs users send without thinking: empty and whitespace-only strings, long
runs of one token (up to and past the token limit), random Unicode and bytes,
and batches that mix them. No invoke may fail, probabilities are finite and
sum to 1, LiteRT equals `tf.lite`, and the int8 intent is the float intent on
nearly all non-empty inputs.
"""
import dataclasses
import random

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings, strategies as st

from pqrnn_tf import lite
from pqrnn_tf.data import readers
from pqrnn_tf.export import converter
from pqrnn_tf.models import load_preset
from pqrnn_tf.train import trainer

QUANTIZATIONS = ("none", "dynamic", "int8")
# int8 probabilities are rounded to the softmax output's step of 1/256: their
# sum is off by up to half a step per class.
INT8_STEP = 1 / 256
RUNTIME_TOLERANCE = {"none": 1e-6, "dynamic": 1e-6, "int8": 0}
MAX_TOKENS = 512
ATIS_WORDS = ("show me flights from boston to denver on monday what is the fare "
              "of a first class ticket").split()
EDGE_TEXTS = ["", " ", "\t \n ", "\u3000", "flight " * 587, "a " * 955,
              "show me flights from boston to denver " * 495,
              "x" * 5000, "flight"]


@pytest.fixture(scope="module")
def exports(tmp_path_factory):
  """{quantization: path} of one trained model's exports."""
  model_dir = str(tmp_path_factory.mktemp("run"))
  train = readers.read_atis("train")[:800]
  dev = readers.read_atis("dev")[:100]
  model_config = load_preset("pqrnn_small")
  model_config = dataclasses.replace(
      model_config, projection={**model_config.projection, "max_tokens": MAX_TOKENS})
  config = trainer.make_config(model_config, train, epochs=4, batch_size=32, seed=0)
  model = trainer.train(config, model_dir, train, dev, verbose=0)
  paths = {}
  for quantization in QUANTIZATIONS:
    path = tmp_path_factory.mktemp(quantization) / "model.tflite"
    path.write_bytes(converter.convert(model, quantization,
                                       [e.text for e in train[:200]]))
    paths[quantization] = str(path)
  return paths


@pytest.fixture(scope="module")
def runners(exports):
  """{(quantization, runtime): signature runner}."""
  return {(q, runtime): lite.load_interpreter(path, runtime=runtime).get_signature_runner()
          for q, path in exports.items() for runtime in ("litert", "tf")}


def run(runner, texts):
  encoded = np.array([t.encode("utf-8", "surrogatepass") if isinstance(t, str) else t
                      for t in texts], dtype=object)
  return runner(text=encoded)


def check_outputs(runners, quantization, texts):
  """Runs `texts` as one batch in both runtimes; returns LiteRT's outputs."""
  out = run(runners[quantization, "litert"], texts)
  same = run(runners[quantization, "tf"], texts)
  for name, value in out.items():
    # Integer kernels are bit-exact across runtimes; float ones may differ in
    # the last bits (the two runtimes are different builds).
    np.testing.assert_allclose(value, same[name], rtol=0, atol=RUNTIME_TOLERANCE[quantization],
                               err_msg=name)
  for name in (converter.INTENT_PROBS, converter.SLOT_PROBS):
    probs = out[name]
    assert np.all(np.isfinite(probs)), name
    lengths = out[converter.SEQUENCE_LENGTH]
    sums = probs.sum(-1)
    if name == converter.SLOT_PROBS:
      sums = sums[np.arange(sums.shape[1])[None, :] < lengths[:, None]]
    tolerance = (probs.shape[-1] + 1) * INT8_STEP / 2 if quantization == "int8" else 1e-5
    np.testing.assert_allclose(sums, 1.0, atol=tolerance, err_msg=name)
  assert out[converter.SEQUENCE_LENGTH].max(initial=0) <= MAX_TOKENS
  return out


@pytest.mark.parametrize("quantization", QUANTIZATIONS)
def test_edge_inputs_one_per_invoke_and_mixed(runners, quantization):
  for text in EDGE_TEXTS:
    check_outputs(runners, quantization, [text])
  check_outputs(runners, quantization, EDGE_TEXTS)
  check_outputs(runners, quantization, ["", "show me flights to boston", ""])


def test_empty_input_has_a_deterministic_answer(runners):
  """"" and whitespace-only text get the intent head's bias distribution (the
  pooled vector of an empty sentence is 0) in every export, int8 within its
  output step."""
  empty = {q: run(runners[q, "litert"], ["", "   "])[converter.INTENT_PROBS]
           for q in QUANTIZATIONS}
  for q, probs in empty.items():
    np.testing.assert_array_equal(probs[0], probs[1])  # "" == whitespace only
    np.testing.assert_allclose(probs[0], empty["none"][0], atol=2 * INT8_STEP, err_msg=q)


def test_token_limit_caps_the_sequence(runners):
  out = run(runners["int8", "litert"], ["flight " * 587, "flight " * 3])
  assert out[converter.SEQUENCE_LENGTH].tolist() == [MAX_TOKENS, 3]


def random_text(rng: random.Random) -> str:
  kind = rng.randrange(4)
  if kind == 0:  # ATIS-like word salad
    return " ".join(rng.choice(ATIS_WORDS) for _ in range(rng.randint(1, 30)))
  if kind == 1:  # one token repeated, up to past the limit
    return " ".join([rng.choice(ATIS_WORDS)] * rng.randint(1, MAX_TOKENS + 100))
  if kind == 2:  # random code points from several scripts
    return "".join(chr(rng.choice([rng.randint(0x20, 0x7e), rng.randint(0x400, 0x4ff),
                                   rng.randint(0x4e00, 0x9fff), rng.randint(0x600, 0x6ff),
                                   rng.randint(0xe00, 0xe7f), 0x20]))
                   for _ in range(rng.randint(1, 80)))
  return " ".join(rng.choice(ATIS_WORDS) + rng.choice(["", "s", "ing", "!"])
                  for _ in range(rng.randint(1, 12)))


def test_int8_intent_agrees_with_float_on_random_inputs(runners):
  rng = random.Random(0)
  texts = [t for t in (random_text(rng) for _ in range(400)) if t.strip()]
  agree = []
  for start in range(0, len(texts), 50):
    batch = texts[start:start + 50]
    float_intents = check_outputs(runners, "none", batch)[converter.INTENT_PROBS].argmax(-1)
    int8_intents = check_outputs(runners, "int8", batch)[converter.INTENT_PROBS].argmax(-1)
    agree.extend(float_intents == int8_intents)
  assert np.mean(agree) >= 0.99, f"int8 agrees with float on {np.mean(agree):.3f}"


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(texts=st.lists(st.one_of(st.text(max_size=80), st.binary(max_size=80),
                                st.sampled_from(EDGE_TEXTS),
                                st.builds(lambda w, n: (w + " ") * n,
                                          st.sampled_from(ATIS_WORDS),
                                          st.integers(1, MAX_TOKENS + 50))),
                      min_size=1, max_size=64),
       quantization=st.sampled_from(QUANTIZATIONS))
def test_random_batches_never_fail(runners, texts, quantization):
  check_outputs(runners, quantization, texts)
