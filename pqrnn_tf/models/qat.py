"""Quantization-aware training (tfmot) of pQRNN models.

`quantize_model(model)` returns a copy of a trained pQRNN model with fake-quant
ops (tensorflow-model-optimization's default 8-bit scheme) on:
  * the Bottleneck's dense kernel and its output,
  * each QRNN's forward/backward kernels and its output,
  * the head layers (Dense, TokenDense: the default registry's Dense config).
The Projection (string in, custom op) is left as is: tfmot would put an input
quantizer on the string input otherwise. The fused QRNN op (gate sums,
activations, fo-pooling) stays float in TFLite too, so nothing inside the QRNN
recurrence is fake-quantized.

Fine-tune the result for an epoch or two (small learning rate), then convert
it with `pqrnn_tf.export.converter.convert(qat_model, "int8", texts)` as usual.

On ATIS, post-training int8 already loses nothing against the float model, and
QAT matches it; QAT is kept for models where post-training int8 does lose
(`python -m pqrnn_tf.benchmarks.quantization`, results in the README's "Quantization").
"""
from __future__ import annotations

from typing import Sequence

import tensorflow as tf
from tensorflow.python.util import tf_inspect  # pylint: disable=g-direct-tensorflow-import
import tf_keras as keras
import tensorflow_model_optimization as tfmot

from pqrnn_tf.layers.bottleneck import Bottleneck
from pqrnn_tf.layers.projection import Projection
from pqrnn_tf.layers.qrnn import QRNN
from pqrnn_tf.layers.token_dense import TokenDense
from tensorflow_model_optimization.python.core.quantization.keras.default_8bit import (  # pylint: disable=g-direct-tensorflow-import
    default_8bit_quantize_registry)

_tfq = tfmot.quantization.keras
_quantizers = _tfq.quantizers
QuantizeWrapperV2 = tfmot.quantization.keras.QuantizeWrapperV2


def _weight_quantizer():
  # As the default 8-bit registry does for Dense kernels (TFLite: symmetric int8).
  return _quantizers.LastValueQuantizer(
      num_bits=8, per_axis=False, symmetric=True, narrow_range=False)


def _activation_quantizer():
  return _quantizers.MovingAverageQuantizer(
      num_bits=8, per_axis=False, symmetric=False, narrow_range=False)


class KernelQuantizeConfig(_tfq.QuantizeConfig):
  """Fake-quantizes the layer's output and the kernels named in `kernels`.

  Args:
    kernels: attribute paths from the layer to each kernel, e.g.
      `("dense.kernel",)` (Bottleneck), `("forward_kernel", "backward_kernel")`
      (a bidirectional QRNN); empty: the output only (e.g. the intent pooling,
      whose output is an int8 tensor in TFLite).
  """

  def __init__(self, kernels: Sequence[str] = ()):
    self.kernels = tuple(kernels)

  def _owners(self, layer):
    """(object holding the kernel, attribute name) for each of `kernels`."""
    owners = []
    for path in self.kernels:
      *parents, name = path.split(".")
      owner = layer
      for parent in parents:
        owner = getattr(owner, parent)
      owners.append((owner, name))
    return owners

  def get_weights_and_quantizers(self, layer):
    return [(getattr(owner, name), _weight_quantizer()) for owner, name in self._owners(layer)]

  def get_activations_and_quantizers(self, layer):
    return []

  def set_quantize_weights(self, layer, quantize_weights):
    for (owner, name), weight in zip(self._owners(layer), quantize_weights):
      setattr(owner, name, weight)

  def set_quantize_activations(self, layer, quantize_activations):
    pass

  def get_output_quantizers(self, layer):
    return [_activation_quantizer()]

  def get_config(self):
    return {"kernels": list(self.kernels)}


class MaskingQuantizeWrapper(QuantizeWrapperV2):
  """A QuantizeWrapperV2 that passes the Keras mask through like its layer.

  tfmot's wrapper does not override `compute_mask`, so the wrapped layer's
  output mask would be lost (slot loss masking and the exported
  `sequence_length` need it on the `slots` output).
  """

  def __init__(self, layer, quantize_config, **kwargs):
    super().__init__(layer, quantize_config, **kwargs)
    self.supports_masking = True

  def call(self, inputs, training=None, mask=None, **kwargs):
    if mask is not None and "mask" in tf_inspect.getfullargspec(self.layer.call).args:
      kwargs["mask"] = mask
    return super().call(inputs, training=training, **kwargs)

  def compute_mask(self, inputs, mask=None):
    return self.layer.compute_mask(inputs, mask)


def custom_objects() -> dict:
  return {
      "Bottleneck": Bottleneck,
      "QRNN": QRNN,
      "Projection": Projection,
      "KernelQuantizeConfig": KernelQuantizeConfig,
      "MaskingQuantizeWrapper": MaskingQuantizeWrapper,
      "TokenDense": TokenDense,
      "Default8BitQuantizeConfig": default_8bit_quantize_registry.Default8BitQuantizeConfig,
  }


def quantize_scope():
  return _tfq.quantize_scope(custom_objects())


def _annotate(layer, quantize_pooling=True):
  if quantize_pooling and isinstance(layer, keras.layers.GlobalAveragePooling1D):
    return _tfq.quantize_annotate_layer(layer, KernelQuantizeConfig())
  if isinstance(layer, Bottleneck):
    return _tfq.quantize_annotate_layer(layer, KernelQuantizeConfig(["dense.kernel"]))
  if isinstance(layer, QRNN):
    kernels = ["forward_kernel"] + (["backward_kernel"] if layer.bidirectional else [])
    return _tfq.quantize_annotate_layer(layer, KernelQuantizeConfig(kernels))
  if isinstance(layer, TokenDense):
    # The default registry's Dense config; the registry matches classes
    # exactly, so it does not know this subclass.
    return _tfq.quantize_annotate_layer(
        layer, default_8bit_quantize_registry.Default8BitQuantizeConfig(
            ["kernel"], ["activation"], False))
  if isinstance(layer, keras.layers.Dense):
    return _tfq.quantize_annotate_layer(layer)
  return layer


def quantize_model(model: keras.Model, quantize_pooling: bool = True,
                   calibration_texts: Sequence[str] | None = None) -> keras.Model:
  """A fake-quantized copy of `model` (same weights), ready to fine-tune.

  `quantize_pooling`: also fake-quantize the output of the mean intent pooling.
  `calibration_texts`: if given, the activation ranges start from what
  `model` produces on them (see `calibrate_ranges`) instead of tfmot's
  [-6, 6].
  """
  annotated = keras.models.clone_model(
      model, clone_function=lambda layer: _annotate(
          layer.__class__.from_config(layer.get_config()), quantize_pooling))
  # clone_model does not copy weights.
  for old, new in zip(model.layers, annotated.layers):
    assert getattr(new, "layer", new).name == old.name, (old.name, new.name)
    new.set_weights(old.get_weights())
  with quantize_scope():
    quantized = _tfq.quantize_apply(annotated)
    # quantize_apply's QuantizeWrapperV2 drops the Keras mask: swap in
    # MaskingQuantizeWrapper (same config and weights).
    masked = keras.models.clone_model(quantized, clone_function=_with_mask)
  for old, new in zip(quantized.layers, masked.layers):
    assert old.name == new.name, (old.name, new.name)
    new.set_weights(old.get_weights())
  if calibration_texts is not None:
    calibrate_ranges(model, masked, calibration_texts)
  return masked


# The activation-range variables of tfmot's wrappers (not the kernels', which
# training re-assigns from the weights at every step).
_RANGE_SUFFIXES = ("output", "post_activation")


def calibrate_ranges(float_model: keras.Model, qat_model: keras.Model,
                     texts: Sequence[str], batch_size: int = 64) -> dict[str, tuple]:
  """Sets each activation range of `qat_model` to the float model's min/max.

  tfmot starts every activation range at [-6, 6] and moves it by an EMA with
  decay 0.999, i.e. ~13% of the way in an ATIS epoch: a QRNN output in
  [-1, 1] then gets a few dozen of the 256 levels, logits beyond 6 are clipped,
  and a short fine-tuning starts far below the float model (ATIS dev slot F1
  97.0 -> 91.7 after a QAT epoch). Starting from the observed ranges (with 0
  inside, as tfmot keeps it) makes the fake-quantized model match the float
  one before fine-tuning. Returns {layer name: (min, max)}.
  """
  wrappers = {l.layer.name: l for l in qat_model.layers
              if isinstance(l, QuantizeWrapperV2) and any(
                  w.name.split("/")[-1].startswith(_RANGE_SUFFIXES) for w in l.weights)}
  probe = keras.Model(float_model.input,
                      [float_model.get_layer(name).output for name in wrappers])
  lows = {name: 0.0 for name in wrappers}
  highs = {name: 0.0 for name in wrappers}
  for start in range(0, len(texts), batch_size):
    outputs = probe(tf.constant(list(texts[start:start + batch_size])), training=False)
    for name, out in zip(wrappers, outputs if len(wrappers) > 1 else [outputs]):
      lows[name] = min(lows[name], float(tf.reduce_min(out)))
      highs[name] = max(highs[name], float(tf.reduce_max(out)))
  for name, wrapper in wrappers.items():
    for weight in wrapper.weights:
      short = weight.name.split("/")[-1].split(":")[0]
      if short in (f"{s}_min" for s in _RANGE_SUFFIXES):
        weight.assign(lows[name])
      elif short in (f"{s}_max" for s in _RANGE_SUFFIXES):
        weight.assign(highs[name])
  return {name: (lows[name], highs[name]) for name in wrappers}


def _with_mask(layer):
  config = layer.get_config()
  if type(layer) is QuantizeWrapperV2:  # pylint: disable=unidiomatic-typecheck
    return MaskingQuantizeWrapper.from_config(config)
  return layer.__class__.from_config(config)

