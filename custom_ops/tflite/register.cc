#include "tflite/register.h"

#include "core/fo_pooling.h"
#include "core/projection_config.h"

// The entry point the Python registerer calls. `add_custom` is the address of
// the non-virtual tflite::MutableOpResolver::AddCustom(const char*,
// const TfLiteRegistration*, int, int), called with the resolver as `this`
// (the Itanium C++ ABI passes `this` as the first argument). Resolving it at
// run time keeps this library free of any link-time TensorFlow dependency.
extern "C" __attribute__((visibility("default"))) void PqrnnRegisterTfLiteOps(
    void* resolver, void (*add_custom)(void*, const char*,
                                       const TfLiteRegistration*, int, int)) {
  add_custom(resolver, PQRNN_PROJECTION_OP_NAME,
             pqrnn::RegisterSequenceStringProjection(), 1, 1);
  add_custom(resolver, PQRNN_FO_POOLING_OP_NAME, pqrnn::RegisterFoPooling(), 1, 1);
  add_custom(resolver, PQRNN_QRNN_POOLING_OP_NAME, pqrnn::RegisterQrnnPooling(), 1, 1);
}
