"""Portable exports: builtin ops only, the same answers as the string-in model.

A small pQRNN is trained on part of ATIS and exported by `pqrnn-export` both
ways (int8). The portable model must hold no custom operator, load in both
Python runtimes with no registerer, and agree with the string-in model on the
ATIS test sentences and on joined sentences that fill every length bucket,
past the token limit included. Its recurrence (a log-depth scan of builtin
ops) is checked against the sequential one on seeded random inputs.
"""
import io
import json
import subprocess
import sys
import zipfile
from pathlib import Path

import numpy as np
import pytest
import tensorflow as tf

from pqrnn_tf.data import readers
from pqrnn_tf.export import portable as portable_export
from pqrnn_tf.inference import TflitePredictor, portable
from pqrnn_tf.layers import qrnn as qrnn_lib
from pqrnn_tf.layers.fo_pooling import fo_pool, fo_pool_log_depth
from pqrnn_tf.models import load_preset
from pqrnn_tf.train import trainer

ROOT = Path(__file__).resolve().parent.parent
MIN_AGREEMENT = 0.995


@pytest.fixture(scope="module")
def exports(tmp_path_factory) -> dict:
  """{"string_in", "portable", "portable_float"}: paths of one trained model's exports."""
  model_dir = tmp_path_factory.mktemp("run")
  train = readers.read_atis("train")[:800]
  dev = readers.read_atis("dev")[:100]
  config = trainer.make_config(load_preset("pqrnn_small"), train, epochs=4, batch_size=32,
                               seed=0, data={"dataset": "atis"})
  trainer.train(config, str(model_dir), train, dev, verbose=0)
  out = tmp_path_factory.mktemp("export")
  paths = {"string_in": ([], "int8"), "portable": (["--portable"], "int8"),
           "portable_float": (["--portable"], "none")}
  for name, (flags, quantization) in paths.items():
    proc = subprocess.run(
        [sys.executable, "-m", "pqrnn_tf.export.cli", f"--model_dir={model_dir}",
         f"--output={out / name}.tflite", f"--quantization={quantization}",
         "--num_calibration=100", "--min_agreement=0", *flags],
        cwd=ROOT, capture_output=True, text=True, timeout=900, check=False)
    assert proc.returncode == 0, proc.stderr[-3000:]
  return {name: str(out / f"{name}.tflite") for name in paths}


def joined_sentences(texts, words_at_least):
  """Test sentences joined with spaces until each has `words_at_least` words."""
  joined, current = [], []
  for text in texts:
    current.append(text)
    if sum(len(t.split()) for t in current) >= words_at_least:
      joined.append(" ".join(current))
      current = []
  return joined


def test_has_no_custom_operator(exports):
  flatbuffer = Path(exports["portable"]).read_bytes()
  assert portable_export.custom_ops(flatbuffer) == []
  from ai_edge_litert import schema_py_generated as schema  # pylint: disable=g-import-not-at-top
  model = schema.Model.GetRootAs(flatbuffer, 0)
  codes = [max(model.OperatorCodes(i).BuiltinCode(), model.OperatorCodes(i).DeprecatedBuiltinCode())
           for i in range(model.OperatorCodesLength())]
  assert schema.BuiltinOperator.CUSTOM not in codes
  # The string-in model, for contrast, does have them.
  assert portable_export.custom_ops(Path(exports["string_in"]).read_bytes())


def test_int8_model_keeps_the_recurrence_float(exports):
  """As the custom op does: no gate or state is rounded to int8 on its way.

  In the int8 portable model a QUANTIZE may only feed the int8 matrix
  products; a QUANTIZE whose output goes on to a DEQUANTIZE rounds a float
  value to 256 steps and back (it once did so to the forget gates)."""
  from pqrnn_tf.benchmarks import op_profile  # pylint: disable=g-import-not-at-top
  model = op_profile.read_model(Path(exports["portable"]).read_bytes())
  for graph in model.subgraphs:
    names = [op_profile.op_name(model.operatorCodes[op.opcodeIndex]) for op in graph.operators]
    quantized = {int(op.outputs[0]) for op, name in zip(graph.operators, names)
                 if name == "QUANTIZE"}
    round_trips = [graph.tensors[int(op.inputs[0])].name.decode()
                   for op, name in zip(graph.operators, names)
                   if name == "DEQUANTIZE" and int(op.inputs[0]) in quantized]
    assert not round_trips, (graph.name, round_trips)


@pytest.mark.parametrize("runtime", ["litert", "tf"])
def test_loads_in_stock_interpreters(exports, runtime):
  """No registerer: each runtime's plain `Interpreter` runs every bucket."""
  if runtime == "litert":
    from ai_edge_litert.interpreter import Interpreter  # pylint: disable=g-import-not-at-top
  else:
    Interpreter = tf.lite.Interpreter  # pylint: disable=invalid-name
  interpreter = Interpreter(model_path=exports["portable"])
  settings = portable.read_settings(Path(exports["portable"]).read_bytes())
  feature_size = settings["projection"]["feature_size"]
  for length in settings["buckets"]:
    runner = interpreter.get_signature_runner(portable.signature_key(length))
    out = runner(features=np.ones([1, length, feature_size], np.float32),
                 sequence_length=np.array([min(length, 3)], np.int32))
    assert np.isclose(out["intent_probs"].sum(), 1.0, atol=0.02)
    assert out["slot_probs"].shape[:2] == (1, length)


def test_agrees_with_string_in_model_in_every_bucket(exports):
  test = [e.text for e in readers.read_atis("test")]
  # Joined sentences fill the 32..512 buckets and go past the token limit,
  # where both models read the first max_tokens tokens.
  long_texts = (joined_sentences(test[:200], 40) + joined_sentences(test[200:500], 100)
                + joined_sentences(test[500:800], 200) + joined_sentences(test[:900], 400)
                + joined_sentences(test, 600))
  texts = test + long_texts
  string_in = TflitePredictor(exports["string_in"]).predict(texts)
  portable_model = TflitePredictor(exports["portable"])
  ported = portable_model.predict(texts)
  lengths = portable_model._projector.project(texts)[1]  # pylint: disable=protected-access
  used = {portable.bucket_for(int(n), portable_model.portable["buckets"]) for n in lengths}
  assert used == set(portable_model.portable["buckets"]), used
  assert max(lengths) == 512
  same_intent = np.mean([a.intent == b.intent for a, b in zip(string_in, ported)])
  tags = [(x.tag, y.tag) for a, b in zip(string_in, ported)
          for x, y in zip(a.tokens, b.tokens)]
  assert all(len(a.tokens) == len(b.tokens) for a, b in zip(string_in, ported))
  same_tag = np.mean([x == y for x, y in tags])
  assert same_intent >= MIN_AGREEMENT, same_intent
  assert same_tag >= MIN_AGREEMENT, same_tag


@pytest.mark.parametrize("text", ["", " ", "\t\u3000 \u2028", "flights " * 140000,
                                  "x" * (1 << 20), "boston\u0000denver \ud7ff\U0010ffff"])
def test_edge_inputs_get_the_string_in_answers(exports, text):
  [a] = TflitePredictor(exports["string_in"]).predict([text])
  [b] = TflitePredictor(exports["portable"]).predict([text])
  assert a.intent == b.intent
  assert [(t.start, t.end, t.tag) for t in a.tokens] == [(t.start, t.end, t.tag) for t in b.tokens]
  assert [(s.type, s.start, s.end) for s in a.slots] == [(s.type, s.start, s.end) for s in b.slots]


def test_padding_never_changes_a_result(exports):
  """The same sentence in every bucket that holds it: the same outputs (float model)."""
  from ai_edge_litert.interpreter import Interpreter  # pylint: disable=g-import-not-at-top
  interpreter = Interpreter(model_path=exports["portable_float"])
  settings = portable.read_settings(Path(exports["portable_float"]).read_bytes())
  predictor = TflitePredictor(exports["portable_float"])
  features, [rows] = predictor._projector.project(["show me flights from boston to denver"])  # pylint: disable=protected-access
  outputs = []
  for length in settings["buckets"]:
    padded = np.zeros([1, length, features.shape[-1]], np.float32)
    padded[0, :rows] = features[0, :rows]
    out = interpreter.get_signature_runner(portable.signature_key(length))(
        features=padded, sequence_length=np.array([rows], np.int32))
    outputs.append((out["intent_probs"][0], out["slot_probs"][0, :rows]))
  for intent, slots in outputs[1:]:
    np.testing.assert_allclose(intent, outputs[0][0], atol=1e-5)
    np.testing.assert_allclose(slots, outputs[0][1], atol=1e-5)


def rewrite_settings(path: str, out: Path, change) -> str:
  """A copy of the model at `path` whose pqrnn_portable.json is
  `change(settings)` (None: the file left out)."""
  content = Path(path).read_bytes()
  with zipfile.ZipFile(io.BytesIO(content)) as archive:
    files = {name: archive.read(name) for name in archive.namelist()}
    start = min(info.header_offset for info in archive.infolist())
  settings = change(json.loads(files.pop(portable.SETTINGS_FILE)))
  if settings is not None:
    files[portable.SETTINGS_FILE] = json.dumps(settings).encode()
  buffer = io.BytesIO()
  buffer.write(content[:start])  # the flatbuffer, without the old archive
  with zipfile.ZipFile(buffer, "a") as archive:
    for name, data in files.items():
      archive.writestr(name, data)
  out.write_bytes(buffer.getvalue())
  return str(out)


@pytest.mark.parametrize("change,message", [
    (lambda s: {**s, "spec_version": 2}, "spec version 2"),
    (lambda s: {**s, "projection": {k: v for k, v in s["projection"].items()
                                    if k != "char_ngram_size"}}, "char_ngram_size"),
    (lambda s: None, portable.SETTINGS_FILE),
])
def test_bad_settings_get_a_one_line_error(exports, tmp_path, change, message):
  model = rewrite_settings(exports["portable"], tmp_path / "bad.tflite", change)
  proc = subprocess.run([sys.executable, "-m", "pqrnn_tf.inference.cli", f"--model={model}",
                         "hello"], cwd=ROOT, capture_output=True, text=True, timeout=300,
                        check=False)
  assert proc.returncode == 2, proc.stderr
  lines = proc.stderr.strip().splitlines()
  assert len(lines) == 1 and message in lines[0] and model in lines[0], proc.stderr


@pytest.mark.parametrize("reverse", [False, True])
@pytest.mark.parametrize("steps", [1, 2, 3, 16, 17, 64, 100])
def test_log_depth_recurrence_matches_the_sequential_one(steps, reverse):
  rng = np.random.default_rng(steps)
  z = rng.uniform(-1, 1, [3, steps, 5]).astype(np.float32)
  f = rng.uniform(0, 1, [3, steps, 5]).astype(np.float32)
  expected = fo_pool(z, f, unroll=True, reverse=reverse).numpy()
  got = fo_pool_log_depth(tf.constant((1 - f) * z), tf.constant(f), reverse=reverse).numpy()
  np.testing.assert_allclose(got, expected, atol=2e-6)


@pytest.mark.parametrize("kernel_width,bidirectional", [(1, True), (2, True), (3, True),
                                                        (2, False)])
def test_builtin_recurrence_matches_the_op(kernel_width, bidirectional):
  """The QRNN layer's builtin-ops inference equals its custom-op inference."""
  rng = np.random.default_rng(kernel_width)
  layer = qrnn_lib.QRNN(6, kernel_width=kernel_width, bidirectional=bidirectional,
                        bias_initializer="glorot_uniform")
  x = tf.constant(rng.normal(size=[4, 20, 7]).astype(np.float32))
  mask = tf.sequence_mask([20, 13, 1, 0], 20)
  expected = layer(x, mask=mask, training=False)
  with qrnn_lib.builtin_recurrence(layer):
    got = layer(x, mask=mask, training=False)
  np.testing.assert_allclose(got.numpy(), expected.numpy(), atol=2e-6)
