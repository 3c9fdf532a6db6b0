// TFLite adapter for fo-pooling (core/fo_pooling.h).
#include <cstring>
#include <string>

#include "core/flexbuffers_reader.h"
#include "core/fo_pooling.h"
#include "tflite/kernel_util.h"
#include "tflite/register.h"
#include "tflite/tflite_abi.h"

namespace pqrnn {
namespace {

struct OpData {
  bool reverse = false;
  Status init_status;
};

Status Invalid(const std::string& what) {
  return Status::InvalidArgument(std::string(PQRNN_FO_POOLING_OP_NAME) + ": " + what);
}

void* Init(TfLiteContext*, const char* buffer, size_t length) {
  auto* data = new OpData;
  if (length > 0) {
    FlexMapReader options(buffer, length);
    data->init_status = options.ok() ? ReadOption(options, "reverse", &data->reverse)
                                     : Invalid("custom options are not a FlexBuffer map");
  }
  return data;
}

void Free(TfLiteContext*, void* buffer) { delete static_cast<OpData*>(buffer); }

TfLiteStatus Prepare(TfLiteContext* context, TfLiteNode* node) {
  auto* data = static_cast<OpData*>(node->user_data);
  if (!data->init_status.ok()) return Report(context, data->init_status);
  if (node->inputs->size != 3 || node->outputs->size != 1) {
    return Report(context, Invalid("expects 3 inputs (u, f, sequence_length) and 1 output"));
  }
  const TfLiteTensor& u = context->tensors[node->inputs->data[0]];
  const TfLiteTensor& f = context->tensors[node->inputs->data[1]];
  const TfLiteTensor& lengths = context->tensors[node->inputs->data[2]];
  TfLiteTensor& c = context->tensors[node->outputs->data[0]];
  if (u.type != kTfLiteFloat32 || f.type != kTfLiteFloat32 ||
      lengths.type != kTfLiteInt32 || c.type != kTfLiteFloat32) {
    return Report(context, Invalid("expects float32 u, f, output and int32 sequence_length"));
  }
  if (u.dims == nullptr || f.dims == nullptr || lengths.dims == nullptr ||
      u.dims->size != 3 || f.dims->size != 3 || lengths.dims->size != 1) {
    return Report(context, Invalid("u and f must be [batch, time, units], sequence_length [batch]"));
  }
  for (int i = 0; i < 3; ++i) {
    if (u.dims->data[i] != f.dims->data[i]) {
      return Report(context, Invalid("u and f must have the same shape"));
    }
  }
  if (lengths.dims->data[0] != u.dims->data[0]) {
    return Report(context, Invalid("sequence_length must have one entry per batch row"));
  }
  return context->ResizeTensor(
      context, &c, NewDims({u.dims->data[0], u.dims->data[1], u.dims->data[2]}));
}

TfLiteStatus Invoke(TfLiteContext* context, TfLiteNode* node) {
  auto* data = static_cast<OpData*>(node->user_data);
  const TfLiteTensor& u = context->tensors[node->inputs->data[0]];
  const TfLiteTensor& f = context->tensors[node->inputs->data[1]];
  const TfLiteTensor& lengths = context->tensors[node->inputs->data[2]];
  TfLiteTensor& c = context->tensors[node->outputs->data[0]];
  const int batch = u.dims->data[0], time = u.dims->data[1], units = u.dims->data[2];
  Status status = ValidateFoPoolingLengths(lengths.data.i32, batch, time);
  if (!status.ok()) return Report(context, status);
  FoPool(u.data.f, f.data.f, lengths.data.i32, batch, time, units, data->reverse, c.data.f);
  return kTfLiteOk;
}

struct QrnnOpData {
  int32_t kernel_width = 2;
  bool bidirectional = true;
  Status init_status;
};

Status InvalidQrnn(const std::string& what) {
  return Status::InvalidArgument(std::string(PQRNN_QRNN_POOLING_OP_NAME) + ": " + what);
}

void* QrnnInit(TfLiteContext*, const char* buffer, size_t length) {
  auto* data = new QrnnOpData;
  if (length > 0) {
    FlexMapReader options(buffer, length);
    if (!options.ok()) {
      data->init_status = InvalidQrnn("custom options are not a FlexBuffer map");
    } else {
      data->init_status = ReadOption(options, "kernel_width", &data->kernel_width);
      if (data->init_status.ok()) {
        data->init_status = ReadOption(options, "bidirectional", &data->bidirectional);
      }
    }
  }
  if (data->init_status.ok() && data->kernel_width <= 0) {
    data->init_status = InvalidQrnn("kernel_width must be positive");
  }
  return data;
}

void QrnnFree(TfLiteContext*, void* buffer) { delete static_cast<QrnnOpData*>(buffer); }

TfLiteStatus QrnnPrepare(TfLiteContext* context, TfLiteNode* node) {
  auto* data = static_cast<QrnnOpData*>(node->user_data);
  if (!data->init_status.ok()) return Report(context, data->init_status);
  if (node->inputs->size != 2 || node->outputs->size != 1) {
    return Report(context, InvalidQrnn("expects 2 inputs (taps, sequence_length) and 1 output"));
  }
  const TfLiteTensor& taps = context->tensors[node->inputs->data[0]];
  const TfLiteTensor& lengths = context->tensors[node->inputs->data[1]];
  TfLiteTensor& h = context->tensors[node->outputs->data[0]];
  if (taps.type != kTfLiteFloat32 || lengths.type != kTfLiteInt32 ||
      h.type != kTfLiteFloat32) {
    return Report(context, InvalidQrnn("expects float32 taps, output and int32 sequence_length"));
  }
  const int directions = data->bidirectional ? 2 : 1;
  const int per_unit = directions * data->kernel_width * 3;
  if (taps.dims == nullptr || lengths.dims == nullptr || taps.dims->size != 3 ||
      lengths.dims->size != 1 || taps.dims->data[2] % per_unit != 0) {
    return Report(context, InvalidQrnn(
        "taps must be [batch, time, directions * kernel_width * 3 * units], "
        "sequence_length [batch]"));
  }
  if (lengths.dims->data[0] != taps.dims->data[0]) {
    return Report(context, InvalidQrnn("sequence_length must have one entry per batch row"));
  }
  return context->ResizeTensor(
      context, &h, NewDims({taps.dims->data[0], taps.dims->data[1],
                            directions * (taps.dims->data[2] / per_unit)}));
}

TfLiteStatus QrnnInvoke(TfLiteContext* context, TfLiteNode* node) {
  auto* data = static_cast<QrnnOpData*>(node->user_data);
  const TfLiteTensor& taps = context->tensors[node->inputs->data[0]];
  const TfLiteTensor& lengths = context->tensors[node->inputs->data[1]];
  TfLiteTensor& h = context->tensors[node->outputs->data[0]];
  const int directions = data->bidirectional ? 2 : 1;
  const int batch = taps.dims->data[0], time = taps.dims->data[1];
  const int units = taps.dims->data[2] / (directions * data->kernel_width * 3);
  Status status = ValidateFoPoolingLengths(lengths.data.i32, batch, time);
  if (!status.ok()) return Report(context, status);
  QrnnPool(taps.data.f, lengths.data.i32, batch, time, units, data->kernel_width, directions,
           h.data.f);
  return kTfLiteOk;
}

}  // namespace

__attribute__((visibility("default"))) TfLiteRegistration* RegisterQrnnPooling() {
  static TfLiteRegistration registration = MakeCustomRegistration(
      PQRNN_QRNN_POOLING_OP_NAME, QrnnInit, QrnnFree, QrnnPrepare, QrnnInvoke);
  return &registration;
}

__attribute__((visibility("default"))) TfLiteRegistration* RegisterFoPooling() {
  static TfLiteRegistration registration =
      MakeCustomRegistration(PQRNN_FO_POOLING_OP_NAME, Init, Free, Prepare, Invoke);
  return &registration;
}

}  // namespace pqrnn
