"""The fo-pooling op: against a numpy reference, its gradient, TF vs TFLite."""
import numpy as np
import pytest
import tensorflow as tf

from pqrnn_tf import lite, ops


def reference(u, f, lengths, reverse):
  c = np.zeros_like(u)
  for b, n in enumerate(lengths):
    state = np.zeros(u.shape[2], np.float32)
    steps = range(n - 1, -1, -1) if reverse else range(n)
    for t in steps:
      state = f[b, t] * state + u[b, t]
      c[b, t] = state
  return c


def loop_pooling(u, f, lengths, reverse):
  """A differentiable plain-TF version for gradient checks."""
  mask = tf.sequence_mask(lengths, tf.shape(u)[1], dtype=u.dtype)[..., None]
  steps = list(range(u.shape[1]))
  out = [None] * len(steps)
  state = tf.zeros_like(u[:, 0])
  for t in (reversed(steps) if reverse else steps):
    state = (f[:, t] * state + u[:, t]) * mask[:, t]
    out[t] = state
  return tf.stack(out, axis=1)


def random_inputs(seed, batch=5, time=9, units=4):
  rng = np.random.default_rng(seed)
  u = rng.normal(size=(batch, time, units)).astype(np.float32)
  f = rng.uniform(size=(batch, time, units)).astype(np.float32)
  lengths = rng.integers(0, time + 1, size=batch).astype(np.int32)
  lengths[0] = time
  return u, f, lengths


@pytest.mark.parametrize("reverse", [False, True])
@pytest.mark.parametrize("seed", range(5))
def test_matches_reference(reverse, seed):
  u, f, lengths = random_inputs(seed)
  got = ops.fo_pooling(u, f, lengths, reverse=reverse).numpy()
  np.testing.assert_allclose(got, reference(u, f, lengths, reverse), rtol=1e-6, atol=1e-6)


@pytest.mark.parametrize("reverse", [False, True])
def test_gradient_matches_autodiff_of_a_loop(reverse):
  u, f, lengths = (tf.constant(x) for x in random_inputs(7))
  weights = tf.random.stateless_normal(u.shape, seed=[1, 2])
  with tf.GradientTape(persistent=True) as tape:
    tape.watch([u, f])
    ours = tf.reduce_sum(ops.fo_pooling(u, f, lengths, reverse) * weights)
    theirs = tf.reduce_sum(loop_pooling(u, f, lengths, reverse) * weights)
  for x in (u, f):
    np.testing.assert_allclose(tape.gradient(ours, x).numpy(),
                               tape.gradient(theirs, x).numpy(), rtol=1e-5, atol=1e-5)


def test_invalid_lengths_and_shapes():
  u, f, _ = random_inputs(0, batch=2, time=3)
  with pytest.raises(tf.errors.InvalidArgumentError, match="outside"):
    ops.fo_pooling(u, f, np.array([1, 4], np.int32))
  with pytest.raises((tf.errors.InvalidArgumentError, ValueError)):
    ops.fo_pooling(u, f[:, :2], np.array([1, 2], np.int32))


def test_tflite_matches_tf_bit_for_bit(tmp_path):
  class Pool(tf.Module):

    @tf.function(input_signature=[tf.TensorSpec([None, None, 4], tf.float32),
                                  tf.TensorSpec([None, None, 4], tf.float32),
                                  tf.TensorSpec([None], tf.int32)])
    def serve(self, u, f, lengths):
      return {"forward": ops.fo_pooling(u, f, lengths),
              "backward": ops.fo_pooling(u, f, lengths, reverse=True)}

  module = Pool()
  converter = tf.lite.TFLiteConverter.from_concrete_functions(
      [module.serve.get_concrete_function()], module)
  converter.allow_custom_ops = True
  path = tmp_path / "pool.tflite"
  path.write_bytes(converter.convert())
  runner = lite.load_interpreter(str(path)).get_signature_runner()
  u, f, lengths = random_inputs(3, batch=6, time=11)
  out = runner(u=u, f=f, lengths=lengths)
  want = module.serve(u, f, lengths)
  for name in ("forward", "backward"):
    assert out[name].tobytes() == want[name].numpy().tobytes()
