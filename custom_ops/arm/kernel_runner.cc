// Drives pqrnn_tf's TFLite kernels the way the TFLite interpreter does, with
// no TFLite library: hand-built TfLiteContext / TfLiteNode / TfLiteTensor
// structs (tflite/fake_interpreter.h) and the registrations obtained through the
// C entry point the Python registerer calls (PqrnnRegisterTfLiteOps). It is
// built for the host and cross-built for aarch64 (custom_ops/arm/build.sh);
// tests/test_aarch64_golden.py runs both on the same requests and checks that
// the outputs are the same bits and match the golden vectors.
//
// Requests come on stdin, one per line; every binary payload is the hex of
// its bytes ("-" for none), numbers are little-endian as in a TFLite buffer:
//
//   project <options> <calls> <text>
//       one sentence (a batch of one) through PqrnnSequenceStringProjection
//       with the FlexBuffer custom options <options>, invoked <calls> times
//       (so the last output is that of call index <calls> - 1, which seeds
//       the distortion noise).
//   fo_pool <options> <batch> <time> <units> <lengths> <u> <f>
//       PqrnnFoPooling on int32 <lengths> and float32 [batch, time, units]
//       <u> and <f>.
//   qrnn_pool <options> <batch> <time> <width> <lengths> <taps>
//       PqrnnQrnnPooling on int32 <lengths> and float32 [batch, time, width]
//       <taps>.
//
// One line answers each request:
//   ok <dims>=<hex> ...   every output tensor, dims joined by ',' (e.g.
//                         "ok 1,3,64=0000803f... 1=03000000")
//   error <message>       what the kernel reported (init, prepare or invoke)
// Exit status 0 unless a request line itself is malformed (2).
#include <cstdint>
#include <cstdlib>
#include <iostream>
#include <map>
#include <sstream>
#include <string>
#include <utility>
#include <vector>

#include "core/fo_pooling.h"
#include "core/projection_config.h"
#include "tflite/fake_interpreter.h"
#include "tflite/string_tensor.h"
#include "tflite/tflite_abi.h"

// Defined in tflite/register.cc; not in a header because only the Python
// registerer (through dlsym) and this program call it.
extern "C" void PqrnnRegisterTfLiteOps(
    void* resolver,
    void (*add_custom)(void*, const char*, const TfLiteRegistration*, int, int));

namespace {

// Stands in for tflite::MutableOpResolver: op name -> registration (copied,
// as the real resolver copies it).
using Resolver = std::map<std::string, TfLiteRegistration>;

void AddCustom(void* resolver, const char* name, const TfLiteRegistration* r,
               int min_version, int max_version) {
  (void)min_version;
  (void)max_version;
  (*static_cast<Resolver*>(resolver))[name] = *r;
}

// A request line's payloads; Fail() makes the program exit 2.
[[noreturn]] void Fail(const std::string& what) {
  std::cerr << "kernel_runner: " << what << "\n";
  std::exit(2);
}

std::string FromHex(const std::string& hex) {
  if (hex == "-") return "";
  if (hex.size() % 2 != 0) Fail("odd-length hex payload");
  std::string out(hex.size() / 2, '\0');
  for (size_t i = 0; i < out.size(); ++i) {
    out[i] = static_cast<char>(std::stoi(hex.substr(2 * i, 2), nullptr, 16));
  }
  return out;
}

std::string ToHex(const void* data, size_t size) {
  static const char kDigits[] = "0123456789abcdef";
  const auto* bytes = static_cast<const unsigned char*>(data);
  std::string out;
  out.reserve(2 * size);
  for (size_t i = 0; i < size; ++i) {
    out += kDigits[bytes[i] >> 4];
    out += kDigits[bytes[i] & 15];
  }
  return out;
}

using pqrnn::fake_tflite::InputTensor;
using pqrnn::fake_tflite::OutputTensor;

// Runs one node: init with `options`, prepare, invoke `calls` times, free.
// Tensors [0, num_inputs) are the inputs, the rest the outputs.
std::string RunNode(const TfLiteRegistration& r, const std::string& options,
                    std::vector<TfLiteTensor> tensors, int num_inputs, int calls) {
  pqrnn::fake_tflite::Node node(std::move(tensors), num_inputs);
  node.Init(r, options);
  bool ok = node.Prepare(r) == kTfLiteOk;
  for (int call = 0; ok && call < calls; ++call) {
    ok = node.Invoke(r) == kTfLiteOk;
  }
  node.Free(r);
  if (!node.misuse().empty()) return "error kernel misuse: " + node.misuse();
  std::string answer = ok ? "ok" : "error " + node.last_error();
  for (int i = num_inputs; ok && i < node.num_tensors(); ++i) {
    const TfLiteTensor& t = node.tensor(i);
    answer += ' ';
    for (int d = 0; t.dims != nullptr && d < t.dims->size; ++d) {
      answer += (d ? "," : "") + std::to_string(t.dims->data[d]);
    }
    answer += '=' + ToHex(t.data.raw, t.bytes);
  }
  return answer;
}

std::string Project(const TfLiteRegistration& r, std::istringstream& request) {
  std::string options, text;
  int calls = 0;
  if (!(request >> options >> calls >> text) || calls < 1) Fail("bad project request");
  return RunNode(r, FromHex(options),
                 {InputTensor(kTfLiteString, {1}, pqrnn::PackStrings({FromHex(text)})),
                  OutputTensor(kTfLiteFloat32), OutputTensor(kTfLiteInt32)},
                 1, calls);
}

std::string FoPool(const TfLiteRegistration& r, std::istringstream& request) {
  std::string options, lengths, u, f;
  int batch = 0, time = 0, units = 0;
  if (!(request >> options >> batch >> time >> units >> lengths >> u >> f)) {
    Fail("bad fo_pool request");
  }
  return RunNode(r, FromHex(options),
                 {InputTensor(kTfLiteFloat32, {batch, time, units}, FromHex(u)),
                  InputTensor(kTfLiteFloat32, {batch, time, units}, FromHex(f)),
                  InputTensor(kTfLiteInt32, {batch}, FromHex(lengths)),
                  OutputTensor(kTfLiteFloat32)},
                 3, 1);
}

std::string QrnnPool(const TfLiteRegistration& r, std::istringstream& request) {
  std::string options, lengths, taps;
  int batch = 0, time = 0, width = 0;
  if (!(request >> options >> batch >> time >> width >> lengths >> taps)) {
    Fail("bad qrnn_pool request");
  }
  return RunNode(r, FromHex(options),
                 {InputTensor(kTfLiteFloat32, {batch, time, width}, FromHex(taps)),
                  InputTensor(kTfLiteInt32, {batch}, FromHex(lengths)),
                  OutputTensor(kTfLiteFloat32)},
                 2, 1);
}

}  // namespace

int main() {
  Resolver resolver;
  PqrnnRegisterTfLiteOps(&resolver, AddCustom);
  const TfLiteRegistration* projection = nullptr;
  const TfLiteRegistration* fo_pooling = nullptr;
  const TfLiteRegistration* qrnn_pooling = nullptr;
  for (const auto& [name, registration] : resolver) {
    if (name == PQRNN_PROJECTION_OP_NAME) projection = &registration;
    if (name == PQRNN_FO_POOLING_OP_NAME) fo_pooling = &registration;
    if (name == PQRNN_QRNN_POOLING_OP_NAME) qrnn_pooling = &registration;
  }
  if (projection == nullptr || fo_pooling == nullptr || qrnn_pooling == nullptr) {
    Fail("PqrnnRegisterTfLiteOps did not register every op");
  }

  std::string line;
  while (std::getline(std::cin, line)) {
    std::istringstream request(line);
    std::string op;
    if (!(request >> op)) continue;
    if (op == "project") {
      std::cout << Project(*projection, request) << "\n";
    } else if (op == "fo_pool") {
      std::cout << FoPool(*fo_pooling, request) << "\n";
    } else if (op == "qrnn_pool") {
      std::cout << QrnnPool(*qrnn_pooling, request) << "\n";
    } else {
      Fail("unknown request '" + op + "'");
    }
  }
  return 0;
}
