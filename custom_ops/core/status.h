// A minimal error status for the framework-free core: an empty message is OK.
#ifndef PQRNN_CORE_STATUS_H_
#define PQRNN_CORE_STATUS_H_

#include <string>
#include <utility>

namespace pqrnn {

class Status {
 public:
  Status() = default;
  static Status Ok() { return Status(); }
  static Status InvalidArgument(std::string message) {
    return Status(std::move(message));
  }
  bool ok() const { return message_.empty(); }
  const std::string& message() const { return message_; }

 private:
  explicit Status(std::string message) : message_(std::move(message)) {}
  std::string message_;
};

}  // namespace pqrnn

#endif  // PQRNN_CORE_STATUS_H_
