// Registrations of pqrnn_tf's TFLite custom ops. C++ (e.g. Android) builds:
//   resolver.AddCustom(PQRNN_PROJECTION_OP_NAME, pqrnn::RegisterSequenceStringProjection());
//   resolver.AddCustom(PQRNN_FO_POOLING_OP_NAME, pqrnn::RegisterFoPooling());
#ifndef PQRNN_TFLITE_REGISTER_H_
#define PQRNN_TFLITE_REGISTER_H_

#include "tflite/tflite_abi.h"

namespace pqrnn {

TfLiteRegistration* RegisterSequenceStringProjection();
TfLiteRegistration* RegisterFoPooling();

}  // namespace pqrnn

#endif  // PQRNN_TFLITE_REGISTER_H_
