"""Quantization-aware training: quantize a tiny pQRNN, train a step, export int8."""

import numpy as np
import pytest
import tensorflow as tf
import tf_keras as keras

pytest.importorskip("tensorflow_model_optimization")

from pqrnn_tf.data.examples import Example, LabelVocab  # pylint: disable=g-import-not-at-top
from pqrnn_tf.export import converter
from pqrnn_tf.models import qat
from pqrnn_tf.models import INTENT_OUTPUT, SLOTS_OUTPUT, build_model
from pqrnn_tf.train.data import make_dataset

@pytest.fixture(scope="module")
def models(tiny_config, texts):
  config = tiny_config(head={"pooling": "mean", "dropout": 0.1})
  model = build_model(config, num_intents=5, num_tags=7)
  model(tf.constant(texts))  # build
  return model, qat.quantize_model(model)


def test_custom_layers_are_wrapped_and_weights_copied(models):
  model, qat_model = models
  wrapped = {l.layer.name for l in qat_model.layers
             if isinstance(l, qat.MaskingQuantizeWrapper)}
  assert {"bottleneck", "qrnn_0", "qrnn_1", "intent", "slots"} <= wrapped
  # The string input gets no fake-quant layer, the Projection is not wrapped.
  assert not any("quantize_layer" in l.name for l in qat_model.layers)
  values = [w.numpy() for w in qat_model.weights]
  for w in model.weights:
    assert any(v.shape == w.shape and np.array_equal(v, w.numpy()) for v in values), w.name


def test_mask_propagates(models, texts):
  _, qat_model = models
  out = qat_model(tf.constant(texts), training=False)
  np.testing.assert_array_equal(
      tf.reduce_sum(tf.cast(out[SLOTS_OUTPUT]._keras_mask, tf.int32), 1),  # pylint: disable=protected-access
      [5, 4, 4, 7, 1, 0])
  # Padding does not change a sentence's result.
  single = qat_model(tf.constant(texts[:1]), training=False)
  np.testing.assert_allclose(single[INTENT_OUTPUT][0], out[INTENT_OUTPUT][0], atol=1e-5)


def test_train_step_and_int8_export(models, tmp_path, texts):
  _, qat_model = models
  intents = LabelVocab([f"i{k}" for k in range(5)])
  tags = LabelVocab(["O"] + [f"B-t{k}" for k in range(6)], fallback="O")
  examples = [Example(t, f"i{k % 5}", ["O"] * len(t.split())) for k, t in enumerate(texts[:4])]
  qat_model.compile(
      optimizer=keras.optimizers.Adam(1e-3),
      loss={name: keras.losses.SparseCategoricalCrossentropy(from_logits=True)
            for name in (INTENT_OUTPUT, SLOTS_OUTPUT)})
  history = qat_model.fit(make_dataset(examples, intents, tags, 4), epochs=1, verbose=0)
  assert np.isfinite(history.history["loss"][0])
  flatbuffer = converter.convert(qat_model, "int8", representative_texts=texts * 3)
  ops = converter.op_counts(flatbuffer)
  assert ops["PqrnnSequenceStringProjection"] == 1 and ops["PqrnnQrnnPooling"] == 2
  assert ops["FULLY_CONNECTED"] >= 1 and ops["QUANTIZE"] >= 1
  from pqrnn_tf import lite  # pylint: disable=g-import-not-at-top
  path = tmp_path / "qat.tflite"
  path.write_bytes(flatbuffer)
  runner = lite.load_interpreter(str(path)).get_signature_runner()
  out = runner(text=np.array([t.encode() for t in texts[:3]], dtype=object))
  np.testing.assert_allclose(out[converter.INTENT_PROBS].sum(-1), 1.0, atol=0.02)
  np.testing.assert_array_equal(out[converter.SEQUENCE_LENGTH], [5, 4, 4])


def test_calibrated_ranges_start_from_the_float_model(models, texts):
  model, _ = models
  texts = texts[:-1] * 4  # Not "": the mean pooling of no tokens is NaN.
  calibrated = qat.quantize_model(model, calibration_texts=texts)
  ranges = {l.layer.name: (l.weights) for l in calibrated.layers
            if isinstance(l, qat.MaskingQuantizeWrapper)}
  out_min = [w for w in ranges["slots"] if w.name.endswith("post_activation_min:0")][0]
  out_max = [w for w in ranges["slots"] if w.name.endswith("post_activation_max:0")][0]
  logits = model(tf.constant(texts), training=False)[SLOTS_OUTPUT].numpy()
  np.testing.assert_allclose([out_min.numpy(), out_max.numpy()],
                             [min(logits.min(), 0), max(logits.max(), 0)], rtol=1e-6)
  # tfmot's default [-6, 6] start is far coarser than the observed ranges.
  default = qat.quantize_model(model)
  want = model(tf.constant(texts), training=False)[INTENT_OUTPUT].numpy()
  err = {name: np.abs(m(tf.constant(texts), training=False)[INTENT_OUTPUT].numpy() - want).max()
         for name, m in (("calibrated", calibrated), ("default", default))}
  assert err["calibrated"] < err["default"], err
