"""The teacher side of distillation (PyTorch, no TensorFlow): `pqrnn-teacher`.

- ``model``, ``train``: fine-tune a pre-trained encoder for intents + slots.
- ``predictor``: ``load_torch`` / ``load_onnx``, string in, logits out.
- ``model_predictor``: a teacher as a ``pqrnn_tf.inference.Predictor`` (decoded
  and scored like the student); ``scoring`` uses it.
- ``logits``: ``pqrnn-teacher logits``, written in the format of
  ``pqrnn_tf/data/teacher_logits.py`` (numpy only, beside the other data formats,
  so that the student imports nothing of this package).
- ``export``: ONNX fp32 and dynamic-int8 export with an agreement check.
- ``cli``: the ``pqrnn-teacher`` command.

``model`` and ``train`` import torch at the top; the other modules import torch
and onnxruntime only when a model is loaded.
"""
