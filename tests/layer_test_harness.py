"""Shared checks for pqrnn_tf Keras layers (cf. keras-hub's `run_layer_test`).

`run_layer_test(layer_cls, init_kwargs, input_shape)` runs, on seeded random
`[batch, time, features]` float inputs with a right-padded mask (rows of full
length, length 1 and, if the batch has 3 rows or more, length 0; padded steps
hold random values, not zeros):

* build and call: output shape, `compute_output_shape`, finite values,
  deterministic at inference;
* config: `get_config` is JSON-serializable and holds the constructor
  arguments, `from_config` (and `keras.layers.deserialize`, which needs the
  `pqrnn_tf>` registration) gives the same outputs for the same weights;
* saving: a functional model `(features, mask) -> layer(features, mask=mask)`
  saved as a TF SavedModel (reloaded with Keras and with `tf.saved_model.load`),
  as `.keras` and as `.h5`, gives the same outputs after reloading;
* training: one `tf.function` training step with Adam gives a finite loss,
  a gradient for every trainable weight, and changes every trainable weight;
* masking: padded outputs are zero (sequence outputs of layers that promise
  it, `padded_outputs_zero`), appending padding of
  random values and batching a sentence with longer ones leave its valid
  outputs unchanged, and a sentence alone without a mask gives the same
  outputs; `compute_mask` returns the input mask for sequence outputs and
  `None` for pooled outputs.

Each check is also a function of its own (`check_*`). Layers over raw strings
(`Projection`) get the checks that apply to them from `run_string_layer_test`.
"""
from __future__ import annotations

import json
import os
import tempfile
import warnings
from typing import Any

import numpy as np
import tensorflow as tf
import tf_keras as keras

TOLERANCE = 1e-5


def make_inputs(input_shape, seed: int = 0):
  """Random features `[batch, time, features]` and a right-padded bool mask.

  Row 0 has the full length, row 1 length 1, row 2 (if any) length 0 and the
  others random lengths in `[1, time]`. Padded steps hold random values.
  """
  batch, time, features = input_shape
  rng = np.random.default_rng(seed)
  x = rng.normal(size=(batch, time, features)).astype(np.float32)
  lengths = rng.integers(1, time + 1, size=batch)
  lengths[0] = time
  if batch > 1:
    lengths[1] = 1
  if batch > 2:
    lengths[2] = 0
  mask = np.arange(time)[None, :] < lengths[:, None]
  return x, mask


def assert_close(actual, expected, atol=TOLERANCE, msg=""):
  np.testing.assert_allclose(
      np.asarray(actual), np.asarray(expected), rtol=0, atol=atol,
      err_msg=msg)


def _is_sequence_output(output) -> bool:
  return len(output.shape) == 3


def _call(layer, x, mask, training=False):
  if mask is None:
    return layer(tf.constant(x), training=training).numpy()
  return layer(tf.constant(x), mask=tf.constant(mask),
               training=training).numpy()


def make_model(layer, input_shape, static_time: bool = False):
  """A functional model `[features, mask] -> layer(features, mask=mask)`."""
  _, time, features = input_shape
  time = time if static_time else None
  x = keras.Input(shape=(time, features), name="features")
  mask = keras.Input(shape=(time,), dtype="bool", name="mask")
  return keras.Model([x, mask], layer(x, mask=mask))


# ----------------------------------------------------------------------------
# Checks


def check_build_and_call(layer_cls, init_kwargs, input_shape,
                         expected_output_shape=None, static_time=False):
  x, mask = make_inputs(input_shape)
  layer = layer_cls(**init_kwargs)
  out = _call(layer, x, mask)
  assert layer.built
  if expected_output_shape is not None:
    assert tuple(out.shape) == tuple(expected_output_shape), out.shape
  assert tuple(layer.compute_output_shape(x.shape)) == tuple(out.shape)
  assert np.all(np.isfinite(out)), "non-finite outputs"
  assert_close(_call(layer, x, mask), out, atol=0,
               msg="inference is not deterministic")
  # Symbolic call: the static output shape (unknown batch and time).
  model = make_model(layer_cls(**init_kwargs), input_shape, static_time)
  symbolic = tuple(model.outputs[0].shape)
  time = input_shape[1] if static_time else None
  expected = (None, time) + out.shape[2:] if out.ndim == 3 else (
      None,) + out.shape[1:]
  assert symbolic == expected, (symbolic, expected)
  return layer, out


def check_config_round_trip(layer, input_shape):
  x, mask = make_inputs(input_shape)
  expected = _call(layer, x, mask)
  config = layer.get_config()
  json.dumps(config)
  for revived in (
      type(layer).from_config(config),
      keras.layers.deserialize(keras.layers.serialize(layer)),
  ):
    assert type(revived) is type(layer)
    assert revived.get_config() == config
    revived(tf.constant(x), mask=tf.constant(mask))
    revived.set_weights(layer.get_weights())
    assert_close(_call(revived, x, mask), expected,
                 msg="from_config gives different outputs")


def check_config_holds_arguments(layer, init_kwargs):
  config = layer.get_config()
  for key, value in init_kwargs.items():
    assert key in config, f"get_config() lacks {key!r}"
    # (None is skipped: Keras canonicalizes e.g. `activation=None` to
    # "linear"; the from_config round trip covers it.)
    if isinstance(value, (bool, int, float, str)):
      assert config[key] == value, (key, config[key], value)


def check_saving(layer_cls, init_kwargs, input_shape, static_time=False,
                 formats=("tf", "keras", "h5")):
  x, mask = make_inputs(input_shape)
  model = make_model(layer_cls(**init_kwargs), input_shape, static_time)
  check_model_saving(model, {"features": x, "mask": mask}, formats)


def check_model_saving(model, inputs: dict, formats=("tf", "keras", "h5")):
  """`model` (inputs named as the keys of `inputs`) gives the same outputs
  after saving in each of `formats` and reloading (the "tf" SavedModel also
  through `tf.saved_model.load`'s serving signature)."""
  args = [inputs[name] for name in model.input_names]
  args = args[0] if len(args) == 1 else args
  expected = model(args, training=False).numpy()
  with tempfile.TemporaryDirectory() as tmp:
    for fmt in formats:
      if fmt == "tf":
        path = os.path.join(tmp, "saved_model")
        model.save(path, save_format="tf")
        # The traced graph, as TF serving / the TFLite converter see it.
        serving = tf.saved_model.load(path).signatures["serving_default"]
        raw = list(serving(**{k: tf.constant(v) for k, v in inputs.items()}).values())
        assert len(raw) == 1
        assert_close(raw[0], expected, msg="tf.saved_model.load differs")
      else:
        path = os.path.join(tmp, f"model.{fmt}")
        with warnings.catch_warnings():
          warnings.filterwarnings("ignore", message=".*HDF5 file.*")
          model.save(path)
      reloaded = keras.models.load_model(path)
      assert_close(reloaded(args, training=False), expected,
                   msg=f"reloaded {fmt} model differs")


def check_training_step(layer_cls, init_kwargs, input_shape, static_time=False,
                        allow_unchanged=()):
  """One Adam step: finite loss, every trainable weight gets a gradient and
  changes (except weight names containing a string of `allow_unchanged`)."""
  tf.random.set_seed(0)
  x, mask = make_inputs(input_shape)
  model = make_model(layer_cls(**init_kwargs), input_shape, static_time)
  target = tf.random.normal(tf.shape(model([x, mask])), seed=1)
  optimizer = keras.optimizers.Adam(learning_rate=1e-2)
  weights = model.trainable_weights
  assert weights, "no trainable weights"

  @tf.function
  def train_step(x, mask):
    with tf.GradientTape() as tape:
      out = model([x, mask], training=True)
      loss = tf.reduce_mean(tf.square(out - target)) + tf.add_n(
          [tf.constant(0.0)] + model.losses)
    grads = tape.gradient(loss, weights)
    for weight, grad in zip(weights, grads):
      tf.debugging.assert_all_finite(grad, f"gradient of {weight.name}")
    optimizer.apply_gradients(zip(grads, weights))
    return loss, [g is None for g in grads]

  before = [w.numpy() for w in weights]
  loss, missing = train_step(tf.constant(x), tf.constant(mask))
  assert np.isfinite(loss.numpy()), loss
  for weight, old, is_missing in zip(weights, before, missing):
    if any(s in weight.name for s in allow_unchanged):
      continue
    assert not is_missing, f"no gradient for {weight.name}"
    assert not np.array_equal(weight.numpy(), old), f"{weight.name} unchanged"
  return float(loss)


def check_masking(layer, input_shape, padding: int = 3, atol=TOLERANCE,
                  padded_outputs_zero: bool = True):
  x, mask = make_inputs(input_shape)
  lengths = mask.sum(axis=1)
  out = _call(layer, x, mask)
  sequence = _is_sequence_output(out)
  assert np.all(np.isfinite(out)), "non-finite outputs (empty rows?)"

  # The output mask.
  out_mask = layer.compute_mask(tf.constant(x), tf.constant(mask))
  if sequence:
    assert out_mask is not None
    np.testing.assert_array_equal(np.asarray(out_mask), mask)
    if padded_outputs_zero:
      assert_close(out[~mask], np.zeros_like(out[~mask]), atol=0,
                   msg="padded outputs are not zero")
  else:
    assert out_mask is None
    for i in np.flatnonzero(lengths == 0):
      assert_close(out[i], np.zeros_like(out[i]), atol=0,
                   msg="empty row does not output zeros")

  # Appending padding (random values, not zeros) changes nothing valid.
  rng = np.random.default_rng(1)
  extra = (10 * rng.normal(size=(x.shape[0], padding, x.shape[2]))).astype(
      np.float32)
  x_long = np.concatenate([x, extra], axis=1)
  mask_long = np.concatenate(
      [mask, np.zeros((x.shape[0], padding), bool)], axis=1)
  out_long = _call(layer, x_long, mask_long)
  if sequence:
    assert_close(out_long[:, :x.shape[1]][mask], out[mask],
                 atol=atol, msg="appending padding changed outputs")
    if padded_outputs_zero:
      assert_close(out_long[:, :x.shape[1]], out, atol=atol,
                   msg="appending padding changed padded outputs")
      assert_close(out_long[:, x.shape[1]:], 0.0, atol=0,
                   msg="appended padding outputs are not zero")
  else:
    assert_close(out_long, out, atol=atol,
                 msg="appending padding changed outputs")

  # Each sentence alone (no padding; with an all-True mask and with no mask)
  # equals its valid part in the batch with longer sentences.
  for i, length in enumerate(lengths):
    if length == 0:
      continue
    alone = x[i:i + 1, :length]
    expected = out[i:i + 1, :length] if sequence else out[i:i + 1]
    assert_close(_call(layer, alone, np.ones((1, length), bool)), expected,
                 atol=atol, msg=f"sentence {i} alone differs from batched")
    assert_close(_call(layer, alone, None), expected, atol=atol,
                 msg=f"sentence {i} alone without mask differs")


def run_layer_test(layer_cls,
                   init_kwargs: dict[str, Any],
                   input_shape=(4, 7, 12),
                   *,
                   expected_output_shape=None,
                   static_time: bool = False,
                   run_saving_test: bool = True,
                   saving_formats=("tf", "keras", "h5"),
                   run_training_test: bool = True,
                   run_masking_test: bool = True,
                   padded_outputs_zero: bool = True,
                   allow_unchanged=()):
  """Runs all checks of this module on one layer configuration.

  Args:
    layer_cls: a Keras layer class taking `(inputs, mask=None,
      training=None)`-style calls on `[batch, time, features]` inputs.
    init_kwargs: constructor arguments.
    input_shape: `(batch, time, features)` of the test inputs; `time >= 2`.
    expected_output_shape: optional expected output shape for `input_shape`.
    static_time: build the functional models with a static time length
      (needed by e.g. `QRNN(unroll=True)`).
    run_saving_test: whether to save and reload models (the slowest check).
    saving_formats: subset of `("tf", "keras", "h5")`.
    run_training_test: whether to run a training step.
    run_masking_test: whether to run the masking checks.
    padded_outputs_zero: whether the layer promises zeros at padded steps.
    allow_unchanged: substrings of trainable weight names that may stay
      unchanged after a training step.
  """
  input_shape = tuple(input_shape)
  assert len(input_shape) == 3 and input_shape[1] >= 2, input_shape
  layer, _ = check_build_and_call(layer_cls, init_kwargs, input_shape,
                                  expected_output_shape, static_time)
  check_config_holds_arguments(layer, init_kwargs)
  check_config_round_trip(layer, input_shape)
  if run_masking_test:
    assert layer.supports_masking
    check_masking(layer, input_shape, padded_outputs_zero=padded_outputs_zero)
  if run_saving_test:
    check_saving(layer_cls, init_kwargs, input_shape, static_time,
                 saving_formats)
  if run_training_test:
    check_training_step(layer_cls, init_kwargs, input_shape, static_time,
                        allow_unchanged)


# ----------------------------------------------------------------------------
# String-input layers (raw sentences in, `[batch, time, features]` out).

#: Sentences of different lengths, an empty one and non-ASCII text.
TEXTS = ("book a flight from boston to denver tomorrow", "hi", "",
         "Zürich  Genève\tthe cheapest one", "東京 to osaka")


def make_string_model(layer):
  """A functional model `texts [batch] -> layer(texts)`."""
  texts = keras.Input(shape=(), dtype=tf.string, name="texts")
  return keras.Model(texts, layer(texts))


def _call_strings(layer, texts, training=False):
  out = layer(tf.constant(list(texts)), training=training)
  mask = getattr(out, "_keras_mask", None)
  return out.numpy(), None if mask is None else mask.numpy()


def check_string_build_and_call(layer_cls, init_kwargs, texts=TEXTS):
  """Output `[batch, time, features]` with a Keras mask; finite, deterministic;
  the static shape of a symbolic call matches `compute_output_shape`."""
  layer = layer_cls(**init_kwargs)
  out, mask = _call_strings(layer, texts)
  assert out.ndim == 3 and out.shape[0] == len(texts), out.shape
  assert mask is not None and mask.shape == out.shape[:2], "no output mask"
  assert np.all(np.isfinite(out)), "non-finite outputs"
  again, again_mask = _call_strings(layer, texts)
  assert_close(again, out, atol=0, msg="inference is not deterministic")
  np.testing.assert_array_equal(again_mask, mask)
  expected = tuple(layer.compute_output_shape(tf.TensorShape([None])))
  symbolic = tuple(make_string_model(layer_cls(**init_kwargs)).outputs[0].shape)
  assert symbolic == expected and expected[-1] == out.shape[-1], (symbolic, expected)
  return layer, out, mask


def check_string_masking(layer, texts=TEXTS):
  """Padded steps are zero and masked; each sentence alone equals its valid
  part in the batch (so the mask counts exactly its tokens)."""
  out, mask = _call_strings(layer, texts)
  assert_close(out[~mask], 0.0, atol=0, msg="padded outputs are not zero")
  assert np.all(mask[:, :-1] >= mask[:, 1:]), "the mask is not right-padded"
  for i, text in enumerate(texts):
    alone, alone_mask = _call_strings(layer, [text])
    length = int(mask[i].sum())
    assert int(alone_mask.sum()) == length, (text, alone_mask, mask[i])
    assert_close(alone[0, :length], out[i, :length],
                 msg=f"sentence {i} alone differs from batched")


def check_string_config_round_trip(layer, init_kwargs, texts=TEXTS):
  expected, _ = _call_strings(layer, texts)
  config = layer.get_config()
  json.dumps(config)
  check_config_holds_arguments(layer, init_kwargs)
  for revived in (type(layer).from_config(config),
                  keras.layers.deserialize(keras.layers.serialize(layer))):
    assert type(revived) is type(layer)
    assert revived.get_config() == config
    revived(tf.constant(list(texts)))
    revived.set_weights(layer.get_weights())
    assert_close(_call_strings(revived, texts)[0], expected,
                 msg="from_config gives different outputs")


def check_string_saving(layer_cls, init_kwargs, texts=TEXTS, formats=("tf", "keras", "h5")):
  check_model_saving(make_string_model(layer_cls(**init_kwargs)),
                     {"texts": np.array(list(texts), dtype=object)}, formats)


def run_string_layer_test(layer_cls, init_kwargs: dict[str, Any], texts=TEXTS, *,
                          saving_formats=("tf", "keras", "h5")):
  """The checks of `run_layer_test` that apply to a layer over raw strings
  (`[batch]` string in; it has no input mask and, here, no trainable weights):
  build and call, the output mask, config round trip and saving."""
  layer, _, _ = check_string_build_and_call(layer_cls, init_kwargs, texts)
  check_string_masking(layer, texts)
  check_string_config_round_trip(layer, init_kwargs, texts)
  if saving_formats:
    check_string_saving(layer_cls, init_kwargs, texts, saving_formats)
