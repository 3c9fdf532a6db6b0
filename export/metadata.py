"""TFLite Metadata for exported models: the label lists inside the `.tflite` file.

    flatbuffer = metadata.add_metadata(
        converter.convert(model, "int8", calibration), name="atis_pqrnn",
        version="1", description="ATIS intents and slots",
        intent_labels=intents.labels, slot_labels=tags.labels)

The layout (and why it is written with the `flatbuffers` package rather than
tflite-support) is described in `pqrnn_tf.inference.metadata`, whose
`read_labels` reads it back without TensorFlow.
"""
from __future__ import annotations

import io
import zipfile
from typing import Sequence

import flatbuffers
import numpy as np
from ai_edge_litert import schema_py_generated as tflite_schema

from pqrnn_tf.inference import metadata as md
from pqrnn_tf.inference.signature import INTENT_PROBS, SIGNATURE_KEY, SLOT_PROBS

# The flatbuffer file identifier of TFLite models.
TFLITE_FILE_IDENTIFIER = b"TFL3"
# Names of the label files packed into the model.
INTENT_LABELS_FILE = "intent_labels.txt"
SLOT_LABELS_FILE = "slot_labels.txt"

_DESCRIPTIONS = {
    "text": "The raw UTF-8 sentences, one per batch row.",
    INTENT_PROBS: "Probability of each intent (labels: the associated file).",
    SLOT_PROBS: "Per token, probability of each BIO slot tag (labels: the "
                "associated file). Rows past sequence_length are padding.",
    "sequence_length": "Number of tokens (valid slot_probs rows) per sentence.",
    "features": "The projection of each sentence (custom_ops/README.md), zero rows "
                "after its sequence_length.",
}


def _decode(name) -> str:
  return name.decode("utf-8") if isinstance(name, bytes) else name


def _string_fields(builder: flatbuffers.Builder, values: dict[int, str | None]) -> dict:
  """Strings must be written before the table that points to them."""
  return {field: builder.CreateString(v) for field, v in values.items() if v is not None}


def _table_vector(builder: flatbuffers.Builder, offsets: Sequence[int]) -> int:
  builder.StartVector(4, len(offsets), 4)
  for offset in reversed(offsets):  # flatbuffers are built back to front
    builder.PrependUOffsetTRelative(offset)
  return builder.EndVector()


def _associated_labels_file(builder: flatbuffers.Builder, name: str) -> int:
  fields = md.ASSOCIATED_FILE_FIELDS
  strings = _string_fields(builder, {fields["name"]: name,
                                     fields["description"]: "One label per line, "
                                     "in the order of the tensor's last axis."})
  builder.StartObject(len(fields))
  for field, offset in strings.items():
    builder.PrependUOffsetTRelativeSlot(field, offset, 0)
  builder.PrependInt8Slot(fields["type"], md.TENSOR_AXIS_LABELS, 0)
  return builder.EndObject()


def _tensor_metadata(builder: flatbuffers.Builder, name: str,
                     labels_file: str | None) -> int:
  fields = md.TENSOR_METADATA_FIELDS
  files = ([_associated_labels_file(builder, labels_file)] if labels_file else [])
  files_vector = _table_vector(builder, files) if files else None
  builder.StartObject(0)  # FeatureProperties has no fields
  feature_properties = builder.EndObject()
  builder.StartObject(len(md.CONTENT_FIELDS) + 1)  # + Content.range, not written
  builder.PrependUint8Slot(md.CONTENT_FIELDS["content_properties_type"],
                           md.FEATURE_PROPERTIES, 0)
  builder.PrependUOffsetTRelativeSlot(md.CONTENT_FIELDS["content_properties"],
                                      feature_properties, 0)
  content = builder.EndObject()
  strings = _string_fields(builder, {fields["name"]: name,
                                     fields["description"]: _DESCRIPTIONS.get(name)})
  builder.StartObject(max(fields.values()) + 1)
  for field, offset in strings.items():
    builder.PrependUOffsetTRelativeSlot(field, offset, 0)
  builder.PrependUOffsetTRelativeSlot(fields["content"], content, 0)
  if files_vector is not None:
    builder.PrependUOffsetTRelativeSlot(fields["associated_files"], files_vector, 0)
  return builder.EndObject()


def model_metadata(*, name: str, version: str, description: str,
                   input_names: Sequence[str], output_names: Sequence[str],
                   label_files: dict[str, str]) -> bytes:
  """A ModelMetadata flatbuffer (file identifier "M001") for one subgraph.

  Args:
    name: the model's name.
    version: the model's version.
    description: what the model does.
    input_names: signature names of `SubGraph.inputs`, in that order.
    output_names: signature names of `SubGraph.outputs`, in that order.
    label_files: {output name: name of its TENSOR_AXIS_LABELS file}.

  Returns:
    The serialized ModelMetadata.
  """
  builder = flatbuffers.Builder(1024)
  inputs = [_tensor_metadata(builder, n, None) for n in input_names]
  outputs = [_tensor_metadata(builder, n, label_files.get(n)) for n in output_names]
  inputs_vector, outputs_vector = _table_vector(builder, inputs), _table_vector(builder, outputs)
  sub_fields = md.SUBGRAPH_METADATA_FIELDS
  strings = _string_fields(builder, {sub_fields["name"]: name})
  builder.StartObject(max(sub_fields.values()) + 1)
  for field, offset in strings.items():
    builder.PrependUOffsetTRelativeSlot(field, offset, 0)
  builder.PrependUOffsetTRelativeSlot(sub_fields["input_tensor_metadata"], inputs_vector, 0)
  builder.PrependUOffsetTRelativeSlot(sub_fields["output_tensor_metadata"], outputs_vector, 0)
  subgraph = builder.EndObject()
  subgraphs_vector = _table_vector(builder, [subgraph])
  fields = md.MODEL_METADATA_FIELDS
  strings = _string_fields(builder, {fields["name"]: name, fields["description"]: description,
                                     fields["version"]: version,
                                     fields["min_parser_version"]: md.MIN_PARSER_VERSION})
  builder.StartObject(max(fields.values()) + 1)
  for field, offset in strings.items():
    builder.PrependUOffsetTRelativeSlot(field, offset, 0)
  builder.PrependUOffsetTRelativeSlot(fields["subgraph_metadata"], subgraphs_vector, 0)
  builder.Finish(builder.EndObject(), file_identifier=md.METADATA_FILE_IDENTIFIER)
  return bytes(builder.Output())


def add_metadata(flatbuffer: bytes, *, name: str, version: str, description: str,
                 intent_labels: Sequence[str],
                 slot_labels: Sequence[str] | None = None,
                 signature_key: str = SIGNATURE_KEY,
                 files: dict[str, str] | None = None) -> bytes:
  """The model with TFLite Metadata: its label lists as associated files.

  Each labels file is a TENSOR_AXIS_LABELS file of its output tensor
  (`intent_probs`, `slot_probs`), packed into the model in a zip archive
  appended to the flatbuffer, as TFLite Support and MediaPipe read them.
  Metadata already in the model is replaced.

  Args:
    flatbuffer: a model from `pqrnn_tf.export.converter.convert`.
    name: the model's name.
    version: the model's version.
    description: what the model does.
    intent_labels: the label of each `intent_probs` column.
    slot_labels: the BIO tag of each `slot_probs` column; required if and
      only if the model has a slot head.
    signature_key: the signature whose subgraph the metadata describes (a
      portable model's first bucket; its buckets all have the same names).
    files: more files to pack beside the labels, {name: text} (a portable
      model's `pqrnn_portable.json`).

  Returns:
    The new model file's bytes.

  Raises:
    ValueError: the model has no `serving_default` signature, the label lists
      do not fit its outputs, or its buffers lie outside the flatbuffer
      (models over 2 GB, which this rewriting does not handle).
  """
  model = tflite_schema.ModelT.InitFromPackedBuf(flatbuffer, 0)
  if any(buffer.offset > 1 for buffer in model.buffers or []):
    raise ValueError("the model keeps buffers outside its flatbuffer (over 2 GB); "
                     "add_metadata rewrites the flatbuffer and cannot keep them")
  signatures = {_decode(s.signatureKey): s for s in model.signatureDefs or []}
  if signature_key not in signatures:
    raise ValueError(f"the model has no {signature_key!r} signature "
                     f"(signatures: {sorted(signatures)})")
  signature = signatures[signature_key]
  subgraph = model.subgraphs[signature.subgraphIndex]
  input_names = {int(t.tensorIndex): _decode(t.name) for t in signature.inputs}
  output_names = {int(t.tensorIndex): _decode(t.name) for t in signature.outputs}
  by_name = {n: i for i, n in output_names.items()}

  label_lists = {INTENT_PROBS: intent_labels, SLOT_PROBS: slot_labels}
  label_files = {INTENT_PROBS: INTENT_LABELS_FILE, SLOT_PROBS: SLOT_LABELS_FILE}
  for output, labels in label_lists.items():
    if (labels is not None) != (output in by_name):
      raise ValueError(f"labels for {output!r} given: {labels is not None}; the model "
                       f"has that output: {output in by_name}")
    if labels is not None:
      width = int(subgraph.tensors[by_name[output]].shape[-1])
      if len(labels) != width:
        raise ValueError(f"{len(labels)} labels for {output!r}, which has {width} columns")
  metadata = model_metadata(
      name=name, version=version, description=description,
      input_names=[input_names[int(i)] for i in subgraph.inputs],
      output_names=[output_names[int(i)] for i in subgraph.outputs],
      label_files={o: f for o, f in label_files.items() if label_lists[o] is not None})

  data = np.frombuffer(metadata, dtype=np.uint8)
  entries = [m for m in model.metadata or [] if _decode(m.name) == md.METADATA_NAME]
  if entries:  # replace the old metadata in place
    model.buffers[entries[0].buffer].data = data
  else:
    buffer = tflite_schema.BufferT()
    buffer.data = data
    model.buffers.append(buffer)
    entry = tflite_schema.MetadataT()
    entry.name, entry.buffer = md.METADATA_NAME, len(model.buffers) - 1
    model.metadata = [*(model.metadata or []), entry]
  builder = flatbuffers.Builder(len(flatbuffer) + len(metadata) + 1024)
  builder.Finish(model.Pack(builder), file_identifier=TFLITE_FILE_IDENTIFIER)

  out = io.BytesIO()
  out.write(builder.Output())
  # Mode "a" on bytes that are not a zip archive appends one after them.
  with zipfile.ZipFile(out, "a", compression=zipfile.ZIP_STORED) as archive:
    for output, labels in label_lists.items():
      if labels is not None:
        archive.writestr(label_files[output], md.label_file_text(labels))
    for file_name, text in (files or {}).items():
      archive.writestr(file_name, text)
  return out.getvalue()
