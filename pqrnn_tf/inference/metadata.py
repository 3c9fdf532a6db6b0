"""TFLite Metadata of pqrnn_tf models: its schema subset and a TF-free reader.

A model with metadata carries its label lists inside the `.tflite` file, the
way TFLite Support and MediaPipe Tasks expect them:

- `Model.metadata` has an entry `TFLITE_METADATA` whose buffer is a
  `ModelMetadata` flatbuffer (tflite-support's `metadata_schema.fbs`, file
  identifier `M001`);
- its first `SubGraphMetadata` lists one `TensorMetadata` per subgraph input
  and output, in `SubGraph.inputs` / `SubGraph.outputs` order, named by the
  signature (`text`, `intent_probs`, ...);
- the `intent_probs` and `slot_probs` entries each have an `AssociatedFile` of
  type `TENSOR_AXIS_LABELS` (one label per line, in output order);
- those files are stored in a zip archive appended to the flatbuffer (TFLite
  runtimes ignore bytes after the flatbuffer; `zipfile` finds the archive from
  the end).

No maintained writer fits beside the pinned stack (`tflite-support` 0.4.4
needs protobuf < 4; TensorFlow 2.21 pins protobuf 7), and no installed wheel
ships the generated metadata schema module, so the few tables used are
written and read here with the `flatbuffers` package: the field numbers below
are the declaration order in `metadata_schema.fbs`. The writer is
`pqrnn_tf.export.metadata.add_metadata`.
"""
from __future__ import annotations

import io
import os
import zipfile

import flatbuffers
from ai_edge_litert import schema_py_generated as tflite_schema

from pqrnn_tf.data.examples import OUTSIDE_TAG, LabelVocab
from pqrnn_tf.inference.signature import INTENT_PROBS, SLOT_PROBS

# The `Model.metadata` entry that holds the ModelMetadata flatbuffer.
METADATA_NAME = "TFLITE_METADATA"
METADATA_FILE_IDENTIFIER = b"M001"
# Only fields of schema 1.0.0 are written.
MIN_PARSER_VERSION = "1.0.0"

# AssociatedFileType.TENSOR_AXIS_LABELS: labels of the tensor's last axis.
TENSOR_AXIS_LABELS = 2
# ContentProperties union member FeatureProperties (an empty table).
FEATURE_PROPERTIES = 1

# Field numbers (declaration order) of the metadata tables used.
ASSOCIATED_FILE_FIELDS = {"name": 0, "description": 1, "type": 2}
# A union takes two fields: its type, then its value.
CONTENT_FIELDS = {"content_properties_type": 0, "content_properties": 1}
TENSOR_METADATA_FIELDS = {"name": 0, "description": 1, "content": 3,
                          "associated_files": 6}
SUBGRAPH_METADATA_FIELDS = {"name": 0, "description": 1,
                            "input_tensor_metadata": 2,
                            "output_tensor_metadata": 3}
MODEL_METADATA_FIELDS = {"name": 0, "description": 1, "version": 2,
                         "subgraph_metadata": 3, "min_parser_version": 7}


def label_file_text(labels) -> str:
  """A label file's contents: one label per line, each line ending in "\\n"."""
  return "".join(f"{label}\n" for label in labels)


def parse_label_file(text: str) -> list[str]:
  """The labels of a label file: its lines, split on "\\n" only.

  A final "\\n" ends the last label (it does not start an empty one).
  """
  lines = text.split("\n")
  return lines[:-1] if lines and lines[-1] == "" else lines


class _Table:
  """Read access to one flatbuffer table, by field number."""

  def __init__(self, buf: bytes, pos: int):
    self._tab = flatbuffers.table.Table(buf, pos)

  def _offset(self, field: int) -> int:
    # A field's vtable slot is 4 + 2 * its number (after the two vtable sizes).
    return self._tab.Offset(4 + 2 * field)

  def string(self, field: int) -> str | None:
    o = self._offset(field)
    return self._tab.String(o + self._tab.Pos).decode("utf-8") if o else None

  def int8(self, field: int, default: int = 0) -> int:
    o = self._offset(field)
    return (self._tab.Get(flatbuffers.number_types.Int8Flags, o + self._tab.Pos)
            if o else default)

  def tables(self, field: int) -> list[_Table]:
    o = self._offset(field)
    if not o:
      return []
    start = self._tab.Vector(o)
    return [_Table(self._tab.Bytes, self._tab.Indirect(start + 4 * i))
            for i in range(self._tab.VectorLen(o))]


def metadata_buffer(flatbuffer: bytes) -> bytes | None:
  """The ModelMetadata flatbuffer inside a `.tflite` flatbuffer, or None."""
  model = tflite_schema.Model.GetRootAs(flatbuffer, 0)
  for i in range(model.MetadataLength()):
    entry = model.Metadata(i)
    if entry.Name() is not None and entry.Name().decode() == METADATA_NAME:
      return model.Buffers(entry.Buffer()).DataAsNumpy().tobytes()
  return None


def output_label_files(metadata: bytes) -> dict[str, str]:
  """{output tensor name: name of its TENSOR_AXIS_LABELS file} in ModelMetadata."""
  if not flatbuffers.util.BufferHasIdentifier(metadata, 0, METADATA_FILE_IDENTIFIER):
    raise ValueError("the TFLITE_METADATA buffer is not a ModelMetadata flatbuffer "
                     f"(file identifier {METADATA_FILE_IDENTIFIER!r} missing)")
  root = _Table(metadata, flatbuffers.encode.Get(flatbuffers.packer.uoffset, metadata, 0))
  subgraphs = root.tables(MODEL_METADATA_FIELDS["subgraph_metadata"])
  files = {}
  for tensor in (subgraphs[0].tables(SUBGRAPH_METADATA_FIELDS["output_tensor_metadata"])
                 if subgraphs else []):
    for associated in tensor.tables(TENSOR_METADATA_FIELDS["associated_files"]):
      if associated.int8(ASSOCIATED_FILE_FIELDS["type"]) == TENSOR_AXIS_LABELS:
        # Like TFLite Support: the first labels file of a tensor is the default.
        files.setdefault(tensor.string(TENSOR_METADATA_FIELDS["name"]),
                         associated.string(ASSOCIATED_FILE_FIELDS["name"]))
  return files


def read_labels(model_path: str | os.PathLike
                ) -> tuple[LabelVocab, LabelVocab | None] | None:
  """The label lists stored inside a `.tflite` file as TFLite Metadata.

  Args:
    model_path: a `.tflite` file.

  Returns:
    `(intent vocab, slot tag vocab or None)` as
    `pqrnn_tf.inference.labels.load_labels` returns them, or None if the model
    has no metadata or no intent labels in it.

  Raises:
    ValueError: the metadata names a labels file the model does not contain.
  """
  with open(model_path, "rb") as f:
    content = f.read()
  metadata = metadata_buffer(content)
  if metadata is None:
    return None
  files = output_label_files(metadata)
  if INTENT_PROBS not in files:
    return None
  try:
    with zipfile.ZipFile(io.BytesIO(content)) as archive:
      texts = {output: archive.read(name).decode("utf-8")
               for output, name in files.items() if output in (INTENT_PROBS, SLOT_PROBS)}
  except (zipfile.BadZipFile, KeyError) as e:
    raise ValueError(f"{model_path}: its metadata names label files {sorted(files.values())} "
                     f"that are not packed in the model: {e}") from None
  intents = LabelVocab(parse_label_file(texts[INTENT_PROBS]))
  tags = (LabelVocab(parse_label_file(texts[SLOT_PROBS]), fallback=OUTSIDE_TAG)
          if SLOT_PROBS in texts else None)
  return intents, tags
