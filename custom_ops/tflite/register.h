// Registrations of pqrnn_tf's TFLite custom ops. C++ (e.g. Android) builds:
//   resolver.AddCustom(PQRNN_PROJECTION_OP_NAME, pqrnn::RegisterSequenceStringProjection());
//   resolver.AddCustom(PQRNN_FO_POOLING_OP_NAME, pqrnn::RegisterFoPooling());
//   resolver.AddCustom(PQRNN_QRNN_POOLING_OP_NAME, pqrnn::RegisterQrnnPooling());
#ifndef PQRNN_TFLITE_REGISTER_H_
#define PQRNN_TFLITE_REGISTER_H_

#include "tflite/tflite_abi.h"

namespace pqrnn {

TfLiteRegistration* RegisterSequenceStringProjection();
TfLiteRegistration* RegisterFoPooling();
TfLiteRegistration* RegisterQrnnPooling();

}  // namespace pqrnn

#endif  // PQRNN_TFLITE_REGISTER_H_
