// A minimal, bounds-checked reader for the FlexBuffers map the TFLite
// converter writes as a custom op's options (TF attributes by name). It reads
// only scalars and strings; every access is checked against the buffer, so a
// corrupt model yields an error rather than a crash.
#ifndef PQRNN_CORE_FLEXBUFFERS_READER_H_
#define PQRNN_CORE_FLEXBUFFERS_READER_H_

#include <cstdint>
#include <cstring>
#include <string>
#include <string_view>

namespace pqrnn {

class FlexMapReader {
 public:
  enum Type : uint8_t {
    kNull = 0, kInt = 1, kUInt = 2, kFloat = 3, kKey = 4, kString = 5,
    kIndirectInt = 6, kIndirectUInt = 7, kIndirectFloat = 8, kMap = 9,
    kBool = 26,
  };

  // A value inside the map.
  struct Value {
    const uint8_t* data = nullptr;
    uint8_t parent_width = 0;
    uint8_t width = 0;
    Type type = kNull;
  };

  // Parses the root; ok() is false if it is not a well-formed map.
  FlexMapReader(const void* buffer, size_t size)
      : begin_(static_cast<const uint8_t*>(buffer)), end_(begin_ + size) {
    if (buffer == nullptr || size < 3) return;
    const uint8_t root_width = end_[-1];
    const uint8_t packed = end_[-2];
    if (!ValidWidth(root_width) || size < 2u + root_width) return;
    Value root = MakeValue(end_ - 2 - root_width, root_width, packed);
    if (root.type != kMap || !Indirect(root, &map_)) return;
    width_ = root.width;
    uint64_t length = 0, keys_offset = 0, keys_width = 0;
    if (!ReadUInt(map_ - width_, width_, &length) ||
        !ReadUInt(map_ - 3 * width_, width_, &keys_offset) ||
        !ReadUInt(map_ - 2 * width_, width_, &keys_width) ||
        !ValidWidth(static_cast<uint8_t>(keys_width)) ||
        keys_offset > static_cast<uint64_t>(map_ - 3 * width_ - begin_)) {
      return;
    }
    keys_ = map_ - 3 * width_ - keys_offset;
    keys_width_ = static_cast<uint8_t>(keys_width);
    length_ = length;
    // Values, then one type byte per value.
    if (!InRange(map_, length_ * width_ + length_) ||
        !InRange(keys_, length_ * keys_width_)) {
      return;
    }
    ok_ = true;
  }

  bool ok() const { return ok_; }

  // Finds `key`; false if absent.
  bool Find(std::string_view key, Value* value) const {
    if (!ok_) return false;
    for (uint64_t i = 0; i < length_; ++i) {
      const uint8_t* slot = keys_ + i * keys_width_;
      uint64_t offset = 0;
      if (!ReadUInt(slot, keys_width_, &offset) ||
          offset > static_cast<uint64_t>(slot - begin_)) {
        return false;
      }
      const char* name = reinterpret_cast<const char*>(slot - offset);
      const size_t max_len = static_cast<size_t>(end_ - (slot - offset));
      const size_t len = strnlen(name, max_len);
      if (len == max_len) return false;  // unterminated
      if (std::string_view(name, len) == key) {
        *value = MakeValue(map_ + i * width_, width_,
                           map_[length_ * width_ + i]);
        return true;
      }
    }
    return false;
  }

  bool AsInt(const Value& v, int64_t* out) const {
    uint64_t u = 0;
    switch (v.type) {
      case kInt:
      case kUInt:
      case kBool:
        if (!ReadUInt(v.data, v.parent_width, &u)) return false;
        *out = v.type == kInt ? SignExtend(u, v.parent_width) : static_cast<int64_t>(u);
        return true;
      case kIndirectInt:
      case kIndirectUInt: {
        const uint8_t* p = nullptr;
        if (!Indirect(v, &p) || !ReadUInt(p, v.width, &u)) return false;
        *out = v.type == kIndirectInt ? SignExtend(u, v.width) : static_cast<int64_t>(u);
        return true;
      }
      default:
        return false;
    }
  }

  bool AsDouble(const Value& v, double* out) const {
    if (v.type == kFloat) return ReadFloat(v.data, v.parent_width, out);
    if (v.type == kIndirectFloat) {
      const uint8_t* p = nullptr;
      return Indirect(v, &p) && ReadFloat(p, v.width, out);
    }
    int64_t i = 0;
    if (!AsInt(v, &i)) return false;
    *out = static_cast<double>(i);
    return true;
  }

  bool AsString(const Value& v, std::string* out) const {
    const uint8_t* p = nullptr;
    uint64_t size = 0;
    if ((v.type != kString && v.type != kKey) || !Indirect(v, &p)) return false;
    if (v.type == kKey) {
      const size_t max_len = static_cast<size_t>(end_ - p);
      const size_t len = strnlen(reinterpret_cast<const char*>(p), max_len);
      if (len == max_len) return false;
      out->assign(reinterpret_cast<const char*>(p), len);
      return true;
    }
    if (!ReadUInt(p - v.width, v.width, &size) || !InRange(p, size)) return false;
    out->assign(reinterpret_cast<const char*>(p), size);
    return true;
  }

 private:
  static bool ValidWidth(uint8_t w) { return w == 1 || w == 2 || w == 4 || w == 8; }

  static int64_t SignExtend(uint64_t u, uint8_t width) {
    if (width == 8) return static_cast<int64_t>(u);
    const uint64_t sign = uint64_t{1} << (8 * width - 1);
    return static_cast<int64_t>((u ^ sign) - sign);
  }

  static Value MakeValue(const uint8_t* data, uint8_t parent_width, uint8_t packed) {
    Value v;
    v.data = data;
    v.parent_width = parent_width;
    v.width = static_cast<uint8_t>(1u << (packed & 3));
    v.type = static_cast<Type>(packed >> 2);
    return v;
  }

  bool InRange(const uint8_t* p, uint64_t n) const {
    return p >= begin_ && p <= end_ && n <= static_cast<uint64_t>(end_ - p);
  }

  bool ReadUInt(const uint8_t* p, uint8_t width, uint64_t* out) const {
    if (!ValidWidth(width) || !InRange(p, width)) return false;
    uint64_t v = 0;
    for (int i = width - 1; i >= 0; --i) v = (v << 8) | p[i];  // little-endian
    *out = v;
    return true;
  }

  bool ReadFloat(const uint8_t* p, uint8_t width, double* out) const {
    uint64_t bits = 0;
    if (!ReadUInt(p, width, &bits)) return false;
    if (width == 4) {
      float f;
      const uint32_t b32 = static_cast<uint32_t>(bits);
      std::memcpy(&f, &b32, 4);
      *out = f;
    } else if (width == 8) {
      std::memcpy(out, &bits, 8);
    } else {
      return false;
    }
    return true;
  }

  // Follows an offset-typed value (stored as a distance back from itself).
  bool Indirect(const Value& v, const uint8_t** out) const {
    uint64_t offset = 0;
    if (!ReadUInt(v.data, v.parent_width, &offset) ||
        offset > static_cast<uint64_t>(v.data - begin_)) {
      return false;
    }
    *out = v.data - offset;
    return true;
  }

  const uint8_t* begin_;
  const uint8_t* end_;
  const uint8_t* map_ = nullptr;
  const uint8_t* keys_ = nullptr;
  uint64_t length_ = 0;
  uint8_t width_ = 0;
  uint8_t keys_width_ = 0;
  bool ok_ = false;
};

}  // namespace pqrnn

#endif  // PQRNN_CORE_FLEXBUFFERS_READER_H_
