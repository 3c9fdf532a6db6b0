"""The fused QRNN op (PqrnnQrnnPooling): a numpy reference, the QRNN layer's
two paths, TF vs TFLite bit for bit."""
import numpy as np
import pytest
import tensorflow as tf

from pqrnn_tf import lite, ops
from pqrnn_tf.layers.qrnn import QRNN
from pqrnn_tf.ops import pooling
from tests.qrnn_pooling_reference import reference

CASES = [(2, True), (1, True), (3, True), (2, False)]  # (kernel_width, bidirectional)


def random_inputs(seed, kernel_width, bidirectional, batch=5, time=9, units=4, scale=2.0):
  rng = np.random.default_rng(seed)
  directions = 2 if bidirectional else 1
  taps = (scale * rng.normal(size=(batch, time, directions * kernel_width * 3 * units))
          ).astype(np.float32)
  lengths = rng.integers(0, time + 1, size=batch).astype(np.int32)
  lengths[0], lengths[1] = time, 0
  return taps, lengths


@pytest.mark.parametrize("kernel_width,bidirectional", CASES)
def test_matches_reference(kernel_width, bidirectional):
  taps, lengths = random_inputs(0, kernel_width, bidirectional)
  got = ops.qrnn_pooling(taps, lengths, kernel_width, bidirectional).numpy()
  np.testing.assert_allclose(got, reference(taps, lengths, kernel_width, bidirectional),
                             atol=2e-6)
  for b, n in enumerate(lengths):
    assert not got[b, n:].any()


def test_saturated_gates_stay_finite_and_exact():
  taps, lengths = random_inputs(1, 2, True, scale=500.0)
  got = ops.qrnn_pooling(taps, lengths).numpy()
  assert np.all(np.isfinite(got))
  np.testing.assert_allclose(got, reference(taps, lengths, 2, True), atol=1e-6)


@pytest.mark.parametrize("kernel_width,bidirectional", CASES[:2])
def test_gradient_is_the_reference_gradient(kernel_width, bidirectional):
  taps, lengths = random_inputs(2, kernel_width, bidirectional)
  taps = tf.constant(taps)
  weights = tf.random.stateless_normal(
      ops.qrnn_pooling(taps, lengths, kernel_width, bidirectional).shape, seed=[1, 2])
  with tf.GradientTape(persistent=True) as tape:
    tape.watch(taps)
    ours = tf.reduce_sum(ops.qrnn_pooling(taps, lengths, kernel_width, bidirectional) * weights)
    theirs = tf.reduce_sum(pooling.qrnn_pooling_reference(
        taps, lengths, kernel_width, bidirectional) * weights)
  np.testing.assert_allclose(tape.gradient(ours, taps).numpy(),
                             tape.gradient(theirs, taps).numpy(), atol=1e-5)


@pytest.mark.parametrize("kernel_width,bidirectional", CASES)
def test_qrnn_inference_path_equals_training_path(kernel_width, bidirectional):
  """The fused op (inference) and the TF-built gates + PqrnnFoPooling
  (training, here without zoneout or dropout) compute the same layer."""
  rng = np.random.default_rng(3)
  x = rng.normal(size=(4, 7, 6)).astype(np.float32)
  mask = np.arange(7)[None, :] < np.array([7, 3, 1, 0])[:, None]
  layer = QRNN(5, kernel_width=kernel_width, bidirectional=bidirectional)
  fused = layer(x, mask=mask, training=False).numpy()
  built = layer(x, mask=mask, training=True).numpy()
  np.testing.assert_allclose(fused, built, atol=1e-5)


def test_invalid_lengths_and_shapes():
  taps, _ = random_inputs(0, 2, True, batch=2, time=3)
  with pytest.raises(tf.errors.InvalidArgumentError, match="outside"):
    ops.qrnn_pooling(taps, np.array([1, 4], np.int32))
  with pytest.raises((tf.errors.InvalidArgumentError, ValueError)):
    ops.qrnn_pooling(taps[..., :-1], np.array([1, 2], np.int32))


@pytest.mark.parametrize("kernel_width,bidirectional", CASES)
def test_tflite_matches_tf_bit_for_bit(tmp_path, kernel_width, bidirectional):
  width = (2 if bidirectional else 1) * kernel_width * 3 * 4

  class Pool(tf.Module):

    @tf.function(input_signature=[tf.TensorSpec([None, None, width], tf.float32),
                                  tf.TensorSpec([None], tf.int32)])
    def serve(self, taps, lengths):
      return {"h": ops.qrnn_pooling(taps, lengths, kernel_width, bidirectional)}

  module = Pool()
  converter = tf.lite.TFLiteConverter.from_concrete_functions(
      [module.serve.get_concrete_function()], module)
  converter.allow_custom_ops = True
  path = tmp_path / "qrnn.tflite"
  path.write_bytes(converter.convert())
  runner = lite.load_interpreter(str(path)).get_signature_runner()
  taps, lengths = random_inputs(4, kernel_width, bidirectional, batch=6, time=11)
  assert runner(taps=taps, lengths=lengths)["h"].tobytes() == (
      module.serve(taps, lengths)["h"].numpy().tobytes())
