"""Tests for pqrnn_tf.layers: the shared harness, plus numpy references."""
from __future__ import annotations

import numpy as np
import pytest
import tensorflow as tf
import tf_keras as keras

from pqrnn_tf.layers import AttentionPooling, Bottleneck, Projection, QRNN, fo_pool
from pqrnn_tf.layers.token_dense import token_matmul
from tests import layer_test_harness as harness

# ----------------------------------------------------------------------------
# numpy references


def np_sigmoid(x):
  return 1.0 / (1.0 + np.exp(-x))


def np_fo_pool(z, f, c0=None):
  """`c_t = f_t c_{t-1} + (1 - f_t) z_t` over axis -2 (`[..., time, units]`)."""
  c = np.zeros_like(z[..., 0, :]) if c0 is None else c0
  out = np.zeros_like(z)
  for t in range(z.shape[-2]):
    c = f[..., t, :] * c + (1.0 - f[..., t, :]) * z[..., t, :]
    out[..., t, :] = c
  return out


def np_causal_conv(x, kernel, bias):
  """x `[time, in]`, kernel `[width, in, out]`: `y_t = sum_j x_{t-w+1+j} K_j`."""
  width = kernel.shape[0]
  padded = np.concatenate([np.zeros((width - 1, x.shape[1])), x])
  return np.stack([
      sum(padded[t + j] @ kernel[j] for j in range(width)) + bias
      for t in range(x.shape[0])
  ]).reshape(x.shape[0], -1)


def np_qrnn_direction(x, kernel, bias):
  """One direction over one unpadded sequence `[time, in]` -> `[time, units]`."""
  units = kernel.shape[-1] // 3
  gates = np_causal_conv(x, kernel, bias)
  z = np.tanh(gates[:, :units])
  f = np_sigmoid(gates[:, units:2 * units])
  o = np_sigmoid(gates[:, 2 * units:])
  return o * np_fo_pool(z, f)


def np_qrnn(layer, x, mask):
  """The whole QRNN layer, one sentence at a time (its valid part only)."""
  fw = [w.numpy().astype(np.float64)
        for w in (layer.forward_kernel, layer.forward_bias)]
  bw = ([w.numpy().astype(np.float64)
         for w in (layer.backward_kernel, layer.backward_bias)]
        if layer.bidirectional else None)
  width = layer.units * (2 if layer.bidirectional else 1)
  sequences = np.zeros(x.shape[:2] + (width,))
  finals = np.zeros((x.shape[0], width))
  for i, length in enumerate(mask.sum(axis=1)):
    if length == 0:
      continue
    valid = x[i, :length].astype(np.float64)
    h_fw = np_qrnn_direction(valid, *fw)
    outputs = [h_fw]
    final = [h_fw[-1]]
    if bw is not None:
      h_bw = np_qrnn_direction(valid[::-1], *bw)
      outputs.append(h_bw[::-1])
      final.append(h_bw[-1])  # After reading the whole sentence backwards.
    sequences[i, :length] = np.concatenate(outputs, axis=-1)
    finals[i] = np.concatenate(final)
  return sequences if layer.return_sequences else finals


def randomize_weights(layer, seed=0, scale=0.5):
  rng = np.random.default_rng(seed)
  layer.set_weights([
      (scale * rng.normal(size=w.shape)).astype(np.float32)
      for w in layer.get_weights()
  ])


# ----------------------------------------------------------------------------
# The shared harness on every layer.

# pytest.param(layer class, constructor arguments, whether to save in all
# formats (else only as `.keras`, to keep the suite fast), id=...).
HARNESS_CASES = [
    pytest.param(Bottleneck, {"units": 6}, True, id="bottleneck_layer_norm"),
    pytest.param(Bottleneck, {"units": 6, "normalization": "batch", "dropout": 0.2}, False,
                 id="bottleneck_batch_norm_dropout"),
    pytest.param(Bottleneck, {"units": 6, "activation": None, "normalization": None}, False,
                 id="bottleneck_linear"),
    pytest.param(QRNN, {"units": 5, "implementation": "op"}, True, id="qrnn_bidirectional_op"),
    pytest.param(QRNN, {"units": 5, "implementation": "unrolled"}, True,
                 id="qrnn_bidirectional_unrolled"),
    pytest.param(QRNN, {"units": 5, "implementation": "scan"}, False,
                 id="qrnn_bidirectional_scan"),
    pytest.param(QRNN, {"units": 5, "kernel_width": 3, "bidirectional": False, "zoneout": 0.3,
                        "dropout": 0.2, "return_sequences": False}, False,
                 id="qrnn_forward_final_state"),
    pytest.param(QRNN, {"units": 5, "kernel_width": 1, "return_sequences": False,
                        "zoneout": 0.1}, False, id="qrnn_bidirectional_final_state"),
    pytest.param(AttentionPooling, {}, True, id="attention_pooling_linear"),
    pytest.param(AttentionPooling, {"units": 4}, False, id="attention_pooling_tanh"),
]

# Layers over raw strings (`[batch]` in), same columns.
STRING_HARNESS_CASES = [
    pytest.param(Projection, {"feature_size": 16}, True, id="projection"),
    pytest.param(Projection, {"feature_size": 8, "max_tokens": 3, "add_bos": True,
                              "add_eos": True, "char_ngram_size": 2}, False,
                 id="projection_limited_bos_eos_ngrams"),
]


def test_projection_defaults_are_the_ops_and_the_tokenizations():
  """Unset attributes take the op's defaults (from its C++ attribute table),
  the tokenization's from pqrnn_tf.data.tokens; given ones are kept."""
  import dataclasses  # pylint: disable=g-import-not-at-top
  from pqrnn_tf import ops  # pylint: disable=g-import-not-at-top
  from pqrnn_tf.data.tokens import Tokenization  # pylint: disable=g-import-not-at-top
  attributes = Projection().op_attributes(training=True)
  op_defaults = ops.projection_defaults()
  tokenization = dataclasses.asdict(Tokenization())
  assert set(attributes) == set(op_defaults) and set(tokenization) < set(op_defaults)
  assert {k: attributes[k] for k in tokenization} == tokenization
  assert ({k: v for k, v in attributes.items() if k not in tokenization}
          == {k: v for k, v in op_defaults.items() if k not in tokenization})
  assert Projection(feature_size=8, char_ngram_size=0).feature_size == 8
  # What a preset's projection section may set (check_config): the arguments.
  import inspect  # pylint: disable=g-import-not-at-top
  arguments = set(inspect.signature(Projection.__init__).parameters) - {"self", "kwargs"}
  assert set(Projection.defaults()) == arguments and Projection.defaults() == attributes


def test_harness_cases_have_unique_ids():
  ids = [case.id for case in HARNESS_CASES + STRING_HARNESS_CASES]
  assert len(ids) == len(set(ids)), ids


@pytest.mark.parametrize("layer_cls, init_kwargs, all_formats", HARNESS_CASES)
def test_layer_harness(layer_cls, init_kwargs, all_formats):
  harness.run_layer_test(
      layer_cls, init_kwargs, input_shape=(4, 7, 12),
      padded_outputs_zero=layer_cls is not Bottleneck,
      static_time=init_kwargs.get("implementation") == "unrolled",
      saving_formats=("tf", "keras", "h5") if all_formats else ("keras",))


@pytest.mark.parametrize("layer_cls, init_kwargs, all_formats", STRING_HARNESS_CASES)
def test_string_layer_harness(layer_cls, init_kwargs, all_formats):
  harness.run_string_layer_test(
      layer_cls, init_kwargs,
      saving_formats=("tf", "keras", "h5") if all_formats else ("keras",))


def test_harness_catches_leaky_padding():
  """The masking check fails on a layer that lets padding leak."""

  class LeakyQRNN(QRNN):
    """Zeroes padded outputs but runs the recurrence over the padding."""

    def call(self, inputs, mask=None, training=None):
      out = super().call(inputs, training=training)
      return out * tf.cast(mask, out.dtype)[..., None]

  with pytest.raises(AssertionError):
    harness.check_masking(LeakyQRNN(4), (4, 7, 12))


# ----------------------------------------------------------------------------
# fo_pool


@pytest.mark.parametrize("reverse", [False, True])
@pytest.mark.parametrize("with_c0", [False, True])
@pytest.mark.parametrize("unroll", [False, True])
def test_fo_pool_matches_numpy(unroll, with_c0, reverse):
  rng = np.random.default_rng(0)
  z = rng.uniform(-1, 1, size=(3, 9, 5)).astype(np.float32)
  f = rng.uniform(0, 1, size=(3, 9, 5)).astype(np.float32)
  c0 = rng.normal(size=(3, 5)).astype(np.float32) if with_c0 else None
  got = fo_pool(tf.constant(z), tf.constant(f),
                None if c0 is None else tf.constant(c0), unroll=unroll,
                reverse=reverse)
  if reverse:
    expected = np_fo_pool(z[:, ::-1], f[:, ::-1], c0)[:, ::-1]
  else:
    expected = np_fo_pool(z, f, c0)
  harness.assert_close(got, expected, atol=1e-6)


@pytest.mark.parametrize("reverse", [False, True])
def test_fo_pool_implementations_match_in_values_and_gradients(reverse):
  rng = np.random.default_rng(1)
  z = tf.constant(rng.uniform(-1, 1, size=(4, 24, 16)).astype(np.float32))
  f = tf.constant(rng.uniform(0, 1, size=(4, 24, 16)).astype(np.float32))
  c0 = tf.constant(rng.normal(size=(4, 16)).astype(np.float32))
  weights = tf.constant(rng.normal(size=(4, 24, 16)).astype(np.float32))
  results = []
  for unroll in (False, True):
    with tf.GradientTape() as tape:
      tape.watch([z, f, c0])
      c = fo_pool(z, f, c0, unroll=unroll, reverse=reverse)
      loss = tf.reduce_sum(c * weights)
    results.append([c] + tape.gradient(loss, [z, f, c0]))
  for scanned, unrolled in zip(*results):
    harness.assert_close(unrolled, scanned, atol=1e-5)


def test_fo_pool_in_graph_with_unknown_time():
  scan = tf.function(
      lambda z, f: fo_pool(z, f),
      input_signature=[tf.TensorSpec([None, None, 3])] * 2)
  z = np.ones((2, 4, 3), np.float32)
  f = np.full((2, 4, 3), 0.5, np.float32)
  harness.assert_close(scan(z, f), np_fo_pool(z, f), atol=1e-6)
  unrolled = tf.function(
      lambda z, f: fo_pool(z, f, unroll=True),
      input_signature=[tf.TensorSpec([None, None, 3])] * 2)
  with pytest.raises(ValueError, match="static time length"):
    unrolled.get_concrete_function()


# ----------------------------------------------------------------------------
# QRNN against the numpy reference


@pytest.mark.parametrize("kernel_width", [1, 2, 3])
@pytest.mark.parametrize("bidirectional", [False, True])
@pytest.mark.parametrize("return_sequences", [False, True])
@pytest.mark.parametrize("implementation", ["op", "unrolled", "scan"])
def test_qrnn_matches_numpy_reference(kernel_width, bidirectional,
                                      return_sequences, implementation):
  x, mask = harness.make_inputs((5, 8, 6), seed=kernel_width)
  layer = QRNN(4, kernel_width=kernel_width, bidirectional=bidirectional,
               return_sequences=return_sequences, implementation=implementation)
  layer.build(x.shape)
  randomize_weights(layer, seed=kernel_width)
  got = layer(tf.constant(x), mask=tf.constant(mask))
  harness.assert_close(got, np_qrnn(layer, x, mask), atol=1e-5)


@pytest.mark.parametrize("time", [1, 2, 3, 8])
@pytest.mark.parametrize("implementation", ["op", "unrolled", "scan"])
def test_qrnn_training_path_matches_numpy_reference(time, implementation):
  """The gates built for training (no dropout or zoneout drawn), on padded
  batches as long as or shorter than the kernel."""
  x, mask = harness.make_inputs((5, time, 6), seed=time)
  layer = QRNN(4, kernel_width=3, implementation=implementation)
  layer.build(x.shape)
  randomize_weights(layer, seed=time)
  got = layer(tf.constant(x), mask=tf.constant(mask), training=True)
  harness.assert_close(got, np_qrnn(layer, x, mask), atol=1e-5)


@pytest.mark.parametrize("shape", [(4, 7, 5), (0, 7, 5), (2, 3, 4, 5)])
def test_token_matmul_in_training_is_the_broadcasting_product(shape):
  """The flat product of training: the values and gradients of inference's."""
  x = tf.constant(np.random.default_rng(0).normal(size=shape).astype(np.float32))
  kernel = tf.constant(np.random.default_rng(1).normal(size=(5, 3)).astype(np.float32))
  results = []
  for training in (False, True):
    with tf.GradientTape() as tape:
      tape.watch([x, kernel])
      y = token_matmul(x, kernel, training=training)
      loss = tf.reduce_sum(y * y)
    results.append([y, *tape.gradient(loss, [x, kernel])])
  assert results[1][0].shape == shape[:-1] + (3,)
  for inference, training in zip(*results):
    harness.assert_close(training, inference, atol=1e-5)


def test_qrnn_without_mask_is_full_length():
  x, _ = harness.make_inputs((3, 6, 5))
  layer = QRNN(4)
  layer.build(x.shape)
  randomize_weights(layer)
  full = np.ones(x.shape[:2], bool)
  harness.assert_close(layer(tf.constant(x)), np_qrnn(layer, x, full))


def test_qrnn_backward_is_forward_on_reversed_input():
  """With shared weights, backward(x) == reverse(forward(reverse(x)))."""
  x, mask = harness.make_inputs((5, 9, 6))
  lengths = mask.sum(axis=1)
  layer = QRNN(4, kernel_width=3)
  layer.build(x.shape)
  randomize_weights(layer)
  layer.backward_kernel.assign(layer.forward_kernel)
  layer.backward_bias.assign(layer.forward_bias)
  x_rev = tf.reverse_sequence(x, lengths, seq_axis=1, batch_axis=0)
  out = layer(tf.constant(x), mask=tf.constant(mask)).numpy()
  out_rev = layer(x_rev, mask=tf.constant(mask)).numpy()
  forward_of_reversed = tf.reverse_sequence(
      out_rev[..., :4], lengths, seq_axis=1, batch_axis=0)
  harness.assert_close(out[..., 4:], forward_of_reversed)
  # And symmetrically for the forward half.
  harness.assert_close(
      out[..., :4],
      tf.reverse_sequence(out_rev[..., 4:], lengths, seq_axis=1, batch_axis=0))


def test_qrnn_zoneout_only_in_training():
  x, mask = harness.make_inputs((4, 10, 6))
  layer = QRNN(8, zoneout=0.5)
  plain = QRNN(8)
  layer.build(x.shape)
  plain.build(x.shape)
  randomize_weights(layer)
  plain.set_weights(layer.get_weights())
  expected = plain(x, mask=mask).numpy()
  # Inference (explicit, default, and through a model) is deterministic and
  # zoneout-free.
  harness.assert_close(layer(x, mask=mask, training=False), expected, atol=0)
  harness.assert_close(layer(x, mask=mask), expected, atol=0)
  model = harness.make_model(layer, x.shape)
  harness.assert_close(model.predict([x, mask], verbose=0), expected, atol=0)
  # Training is stochastic.
  first = layer(x, mask=mask, training=True).numpy()
  second = layer(x, mask=mask, training=True).numpy()
  assert not np.allclose(first[..., :8], expected[..., :8])  # Forward.
  assert not np.allclose(first[..., 8:], expected[..., 8:])  # Backward.
  assert not np.allclose(first, second)
  harness.assert_close(first[~mask], 0.0, atol=0)


def test_qrnn_zoneout_keeps_previous_state():
  """With o == 1 (h == c), each training step either keeps c or updates it."""
  rng = np.random.default_rng(3)
  x = rng.normal(size=(16, 12, 6)).astype(np.float32)
  units = 32
  layer = QRNN(units, bidirectional=False, zoneout=0.3)
  layer.build(x.shape)
  randomize_weights(layer)
  kernel, bias = layer.get_weights()
  kernel[..., 2 * units:] = 0.0
  bias[2 * units:] = 40.0  # sigmoid(40) == 1.0 in float32.
  layer.set_weights([kernel, bias])
  gates = np.stack([np_causal_conv(row, kernel, bias) for row in x])
  z = np.tanh(gates[..., :units])
  f = np_sigmoid(gates[..., units:2 * units])

  h = layer(x, training=True).numpy().astype(np.float64)
  previous = np.concatenate([np.zeros_like(h[:, :1]), h[:, :-1]], axis=1)
  updated = f * previous + (1 - f) * z
  kept = np.abs(h - previous) < 1e-6
  assert np.all(kept | (np.abs(h - updated) < 1e-5))
  assert 0.25 < kept.mean() < 0.35, kept.mean()


def test_qrnn_stack_propagates_mask():
  x, mask = harness.make_inputs((4, 7, 10))
  stack = keras.Sequential([QRNN(6, kernel_width=3), QRNN(5)])
  harness.check_masking(stack, x.shape)
  first, second = stack.layers
  randomize_weights(stack)
  expected = np_qrnn(second, np_qrnn(first, x, mask), mask)
  harness.assert_close(stack(x, mask=mask), expected)


def test_qrnn_bottleneck_attention_model():
  """Bottleneck -> QRNN -> QRNN -> AttentionPooling, mask from keras.Input."""
  x, mask = harness.make_inputs((4, 7, 10))
  features = keras.Input(shape=(None, 10))
  mask_input = keras.Input(shape=(None,), dtype="bool")
  hidden = Bottleneck(8)(features, mask=mask_input)
  hidden = QRNN(6)(QRNN(6)(hidden))
  pooled = AttentionPooling(4)(hidden)
  model = keras.Model([features, mask_input], pooled)
  assert model.output_shape == (None, 12)
  out = model([x, mask]).numpy()
  assert np.all(np.isfinite(out))
  harness.assert_close(out[2], 0.0, atol=0)  # The empty row.
  for i, length in enumerate(mask.sum(axis=1)):
    if length:
      alone = model([x[i:i + 1, :length], mask[i:i + 1, :length]]).numpy()
      harness.assert_close(alone, out[i:i + 1])


def test_qrnn_directions_are_initialized_differently():
  layer = QRNN(4)
  layer.build((None, None, 3))
  assert not np.allclose(layer.forward_kernel.numpy(),
                         layer.backward_kernel.numpy())


def test_qrnn_unroll_needs_static_time():
  features = keras.Input(shape=(None, 4))
  with pytest.raises(ValueError, match="static time length"):
    QRNN(3, implementation="unrolled")(features)


def test_qrnn_rejects_bad_arguments():
  with pytest.raises(ValueError):
    QRNN(0)
  with pytest.raises(ValueError):
    QRNN(4, zoneout=1.0)
  with pytest.raises(ValueError):
    QRNN(4, kernel_width=0)


# ----------------------------------------------------------------------------
# Bottleneck and AttentionPooling specifics


def test_bottleneck_batch_norm_statistics_use_valid_steps_only():
  x, mask = harness.make_inputs((4, 7, 5))
  x[~mask] = 1e3  # Padding that would dominate the statistics.
  layer = Bottleneck(3, activation=None, normalization="batch")
  out = layer(x, mask=mask, training=True).numpy()
  kernel = layer.dense.kernel.numpy()
  dense = x[mask] @ kernel
  mean, var = dense.mean(axis=0), dense.var(axis=0)
  expected = (dense - mean) / np.sqrt(var + layer.norm.epsilon)
  harness.assert_close(out[mask], expected, atol=1e-4)


def test_bottleneck_matches_numpy_layer_norm():
  x, mask = harness.make_inputs((3, 6, 5))
  layer = Bottleneck(4, activation="relu", normalization="layer")
  layer.build(x.shape)
  randomize_weights(layer)
  kernel, bias, gamma, beta = layer.get_weights()
  dense = x @ kernel + bias
  normed = (dense - dense.mean(-1, keepdims=True)) / np.sqrt(
      dense.var(-1, keepdims=True) + layer.norm.epsilon)
  expected = np.maximum(normed * gamma + beta, 0.0)
  harness.assert_close(layer(x, mask=mask), expected)


def test_bottleneck_rejects_unknown_normalization():
  with pytest.raises(ValueError, match="normalization"):
    Bottleneck(4, normalization="group")


@pytest.mark.parametrize("units", [None, 4])
def test_attention_pooling_matches_numpy(units):
  x, mask = harness.make_inputs((5, 8, 6))
  layer = AttentionPooling(units)
  layer.build(x.shape)
  randomize_weights(layer, scale=3.0)  # Large scores: tests the stability.
  weights = [w.numpy() for w in layer.weights]
  hidden = x if units is None else np.tanh(x @ weights[0] + weights[1])
  scores = (hidden @ weights[-1])[..., 0].astype(np.float64)
  expected = np.zeros((x.shape[0], x.shape[2]))
  for i, length in enumerate(mask.sum(axis=1)):
    if length:
      s = scores[i, :length]
      a = np.exp(s - s.max())
      expected[i] = (a / a.sum()) @ x[i, :length]
  harness.assert_close(layer(x, mask=mask), expected)


def test_attention_pooling_empty_rows_have_finite_gradients():
  x = tf.random.normal([3, 5, 4], seed=0)
  mask = tf.zeros([3, 5], tf.bool)
  layer = AttentionPooling(3)
  with tf.GradientTape() as tape:
    tape.watch(x)
    out = layer(x, mask=mask)
    loss = tf.reduce_sum(out)
  grads = tape.gradient(loss, [x] + layer.trainable_weights)
  harness.assert_close(out, 0.0, atol=0)
  for grad in grads:
    assert np.all(np.isfinite(grad.numpy()))


@pytest.mark.parametrize("implementation", ["op", "scan"])
def test_qrnn_accepts_an_empty_batch(implementation):
  layer = QRNN(4, kernel_width=3, implementation=implementation)
  out = layer(tf.zeros([0, 5, 6]), mask=tf.zeros([0, 5], tf.bool))
  assert out.shape == (0, 5, 8)
