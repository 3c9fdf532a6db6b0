"""Quantization-aware training (tfmot) of pQRNN models.

`quantize_model(model)` returns a copy of a trained pQRNN model with fake-quant
ops (tensorflow-model-optimization's default 8-bit scheme) on:
  * the Bottleneck's dense kernel and its output,
  * each QRNN's forward/backward kernels and its output,
  * the built-in head layers (Dense; registry defaults).
The Projection (string in, custom op) is left as is: tfmot would put an input
quantizer on the string input otherwise. The fo-pooling custom op stays float
in TFLite too, so nothing inside the QRNN recurrence is fake-quantized.

Fine-tune the result for an epoch or two (small learning rate), then convert
it with `converter.convert(qat_model, "int8", texts)` as usual.

Findings (out/qat_notes.md): on ATIS, once the converter feeds calibration
strings correctly, plain post-training int8 already agrees 99.8% with the float
model; QAT gives the same (99.6-99.8%). QAT is kept as an option.
"""
from __future__ import annotations

import tensorflow as tf
from tensorflow.python.util import tf_inspect  # pylint: disable=g-direct-tensorflow-import
import tf_keras as keras
import tensorflow_model_optimization as tfmot

from pqrnn_tf import ops
from pqrnn_tf.layers.bottleneck import Bottleneck
from pqrnn_tf.layers.projection import Projection
from pqrnn_tf.layers.qrnn import QRNN

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


class _FakeQuantPoints:
  """Mixin: extra moving-average fake-quant points inside a layer's call.

  They mark tensors that are int8 in the converted TFLite model but lie inside
  our custom layers, where a QuantizeConfig cannot reach (e.g. the FC output
  before LayerNorm, the QRNN gates). Off unless `fake_quant=True`.
  """

  def _build_fake_quants(self, names):
    self._fake_quants = {}
    for name in names:
      quantizer = _activation_quantizer()
      self._fake_quants[name] = (quantizer, quantizer.build(None, name, self))

  def _fq(self, name, x, training):
    if not getattr(self, "_fake_quants", None):
      return x
    quantizer, weights = self._fake_quants[name]
    if training is None:
      training = keras.backend.learning_phase()
    return tf.__internal__.smart_cond.smart_cond(
        training, lambda: quantizer(x, True, weights),
        lambda: quantizer(x, False, weights))


def _fixed_fq(x, lo, hi):
  """TFLite's fixed output scales: LOGISTIC [0, 255/256], TANH [-1, 127/128]."""
  return tf.quantization.fake_quant_with_min_max_args(x, min=lo, max=hi, num_bits=8)


@keras.utils.register_keras_serializable(package="pqrnn_tf_qat")
class QATBottleneck(_FakeQuantPoints, Bottleneck):
  """Bottleneck with fake-quant on the dense output and the norm output."""

  def build(self, input_shape):
    super().build(input_shape)
    self._build_fake_quants(["dense_output", "norm_output"])

  def call(self, inputs, mask=None, training=None):
    y = self._fq("dense_output", self.dense(inputs), training)
    if self.normalization == "batch":
      y = self.norm(y, training=training, mask=mask)
    elif self.norm is not None:
      y = self.norm(y)
    if self.norm is not None:
      y = self._fq("norm_output", y, training)
    if self.activation is not None:
      y = self.activation(y)
    if self.dropout > 0.0:
      y = self.output_dropout(y, training=training)
    if mask is not None:
      y = y * tf.expand_dims(tf.cast(mask, y.dtype), -1)
    return y


@keras.utils.register_keras_serializable(package="pqrnn_tf_qat")
class QATQRNN(_FakeQuantPoints, QRNN):
  """QRNN with fake-quant on the gate FC outputs, the fixed-scale tanh/sigmoid
  outputs, (1 - f) * z and the fo-pooling output ("op" implementation)."""

  def build(self, input_shape):
    super().build(input_shape)
    names = []
    for d in ("fw", "bw") if self.bidirectional else ("fw",):
      names += [f"{d}_gates", f"{d}_one_minus_f", f"{d}_zf", f"{d}_c"]
    self._build_fake_quants(names)
    self._training = None

  def call(self, inputs, mask=None, training=None):
    self._training = training
    return super().call(inputs, mask=mask, training=training)

  def _gates(self, x, kernel, bias, backward):
    d = "bw" if backward else "fw"
    kernel = tf.cast(kernel, x.dtype)
    width = self.kernel_width
    if width > 1:
      if backward:
        x = tf.pad(x, [[0, 0], [0, width - 1], [0, 0]])
        kernel = tf.reverse(kernel, axis=[0])
      else:
        x = tf.pad(x, [[0, 0], [width - 1, 0], [0, 0]])
    time = tf.shape(x)[1] - (width - 1)
    windows = tf.concat([x[:, j:j + time] for j in range(width)], axis=-1)
    flat_kernel = tf.reshape(kernel, [-1, 3 * self.units])
    gates = tf.einsum("bti,io->bto", windows, flat_kernel) + tf.cast(bias, x.dtype)
    gates = self._fq(f"{d}_gates", gates, self._training)
    z, f, o = tf.split(gates, 3, axis=-1)
    return (_fixed_fq(tf.tanh(z), -1.0, 127.0 / 128.0),
            _fixed_fq(tf.sigmoid(f), 0.0, 255.0 / 256.0),
            _fixed_fq(tf.sigmoid(o), 0.0, 255.0 / 256.0))

  def _pool(self, z, f, mask, reverse):
    if self.implementation != "op":
      return super()._pool(z, f, mask, reverse)
    d = "bw" if reverse else "fw"
    if mask is None:
      lengths = tf.fill(tf.shape(z)[:1], tf.shape(z)[1])
    else:
      lengths = tf.reduce_sum(tf.cast(mask, tf.int32), axis=1)
    one_minus_f = self._fq(f"{d}_one_minus_f", 1.0 - f, self._training)
    zf = self._fq(f"{d}_zf", one_minus_f * z, self._training)
    c = ops.fo_pooling(zf, f, lengths, reverse=reverse)
    return self._fq(f"{d}_c", c, self._training)


class BottleneckQuantizeConfig(_tfq.QuantizeConfig):
  """Quantizes the inner Dense kernel and the Bottleneck's output."""

  def get_weights_and_quantizers(self, layer):
    return [(layer.dense.kernel, _weight_quantizer())]

  def get_activations_and_quantizers(self, layer):
    return []

  def set_quantize_weights(self, layer, quantize_weights):
    layer.dense.kernel = quantize_weights[0]

  def set_quantize_activations(self, layer, quantize_activations):
    pass

  def get_output_quantizers(self, layer):
    return [_activation_quantizer()]

  def get_config(self):
    return {}


class QRNNQuantizeConfig(_tfq.QuantizeConfig):
  """Quantizes the convolution kernels and the QRNN's output."""

  @staticmethod
  def _names(layer):
    return ["forward_kernel"] + (["backward_kernel"] if layer.bidirectional else [])

  def get_weights_and_quantizers(self, layer):
    return [(getattr(layer, name), _weight_quantizer()) for name in self._names(layer)]

  def get_activations_and_quantizers(self, layer):
    return []

  def set_quantize_weights(self, layer, quantize_weights):
    for name, weight in zip(self._names(layer), quantize_weights):
      setattr(layer, name, weight)

  def set_quantize_activations(self, layer, quantize_activations):
    pass

  def get_output_quantizers(self, layer):
    return [_activation_quantizer()]

  def get_config(self):
    return {}


class OutputQuantizeConfig(_tfq.QuantizeConfig):
  """No weights: fake-quantizes the output only (e.g. the intent pooling,
  whose output is an int8 tensor in TFLite)."""

  def get_weights_and_quantizers(self, layer):
    return []

  def get_activations_and_quantizers(self, layer):
    return []

  def set_quantize_weights(self, layer, quantize_weights):
    pass

  def set_quantize_activations(self, layer, quantize_activations):
    pass

  def get_output_quantizers(self, layer):
    return [_activation_quantizer()]

  def get_config(self):
    return {}


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
      "BottleneckQuantizeConfig": BottleneckQuantizeConfig,
      "QRNNQuantizeConfig": QRNNQuantizeConfig,
      "MaskingQuantizeWrapper": MaskingQuantizeWrapper,
      "OutputQuantizeConfig": OutputQuantizeConfig,
      "QATBottleneck": QATBottleneck,
      "QATQRNN": QATQRNN,
  }


def quantize_scope():
  return _tfq.quantize_scope(custom_objects())


def _annotate(layer, quantize_pooling=True):
  if quantize_pooling and isinstance(layer, keras.layers.GlobalAveragePooling1D):
    return _tfq.quantize_annotate_layer(layer, OutputQuantizeConfig())
  if isinstance(layer, Bottleneck):
    return _tfq.quantize_annotate_layer(layer, BottleneckQuantizeConfig())
  if isinstance(layer, QRNN):
    return _tfq.quantize_annotate_layer(layer, QRNNQuantizeConfig())
  if isinstance(layer, keras.layers.Dense):
    return _tfq.quantize_annotate_layer(layer)
  return layer


def _clone_layer(layer, inner_fake_quant):
  cls = layer.__class__
  if inner_fake_quant and cls is Bottleneck:
    cls = QATBottleneck
  elif inner_fake_quant and cls is QRNN:
    cls = QATQRNN
  return cls.from_config(layer.get_config())


def quantize_model(model: keras.Model, quantize_pooling: bool = True,
                   inner_fake_quant: bool = False) -> keras.Model:
  """A fake-quantized copy of `model` (same weights), ready to fine-tune.

  `quantize_pooling`: also fake-quantize the output of the mean intent pooling.
  `inner_fake_quant`: replace Bottleneck/QRNN by QATBottleneck/QATQRNN, which
  also fake-quantize tensors inside the layers that are int8 in TFLite.
  """
  annotated = keras.models.clone_model(
      model, clone_function=lambda layer: _annotate(
          _clone_layer(layer, inner_fake_quant), quantize_pooling))
  # clone_model does not copy weights; the QAT layers' extra (fake-quant
  # range) weights come last.
  for old, new in zip(model.layers, annotated.layers):
    assert getattr(new, "layer", new).name == old.name, (old.name, new.name)
    old_weights, new_weights = old.get_weights(), new.get_weights()
    new.set_weights(old_weights + new_weights[len(old_weights):])
  with quantize_scope():
    quantized = _tfq.quantize_apply(annotated)
    # quantize_apply's QuantizeWrapperV2 drops the Keras mask: swap in
    # MaskingQuantizeWrapper (same config and weights).
    masked = keras.models.clone_model(quantized, clone_function=_with_mask)
  for old, new in zip(quantized.layers, masked.layers):
    assert old.name == new.name, (old.name, new.name)
    new.set_weights(old.get_weights())
  return masked


def _with_mask(layer):
  config = layer.get_config()
  if type(layer) is QuantizeWrapperV2:  # pylint: disable=unidiomatic-typecheck
    return MaskingQuantizeWrapper.from_config(config)
  return layer.__class__.from_config(config)

