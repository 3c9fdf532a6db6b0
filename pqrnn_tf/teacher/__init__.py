"""The teacher side of distillation (PyTorch, no TensorFlow): `pqrnn-teacher`.

- ``logits_format``: the teacher-logits ``.npz`` format (numpy only; what a
  student imports): ``load_teacher_logits``, ``save_teacher_logits``.
- ``model``, ``train``: fine-tune a pre-trained encoder for intents + slots.
- ``predictor``: ``load_torch`` / ``load_onnx``, string in, logits out.
- ``export``: ONNX fp32 and dynamic-int8 export with an agreement check.
- ``cli``: the ``pqrnn-teacher`` command.

Only ``logits_format`` is safe to import without the ``teacher`` extra.
"""
