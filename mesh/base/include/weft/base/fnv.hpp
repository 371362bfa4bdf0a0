#pragma once
// FNV-1a, 64 bits: the non-cryptographic hash mesh's surrogate channel, bbolt's meta page
// checksum and weft's flood duplicate filter all use. Incremental, so a caller can hash a
// value and a frame without joining them into one buffer.

#include <cstdint>
#include <span>

namespace weft {

class Fnv1a64 {
 public:
  static constexpr std::uint64_t kOffset = 14695981039346656037ull;
  static constexpr std::uint64_t kPrime = 1099511628211ull;

  constexpr Fnv1a64& byte(std::uint8_t b) {
    h_ = (h_ ^ b) * kPrime;
    return *this;
  }
  constexpr Fnv1a64& bytes(std::span<const std::uint8_t> s) {
    for (auto b : s) byte(b);
    return *this;
  }
  /// The 8 bytes of `v`, least significant first.
  constexpr Fnv1a64& u64le(std::uint64_t v) {
    for (int i = 0; i < 8; ++i) byte(static_cast<std::uint8_t>(v >> (8 * i)));
    return *this;
  }
  constexpr std::uint64_t value() const { return h_; }

 private:
  std::uint64_t h_ = kOffset;
};

constexpr std::uint64_t fnv1a64(std::span<const std::uint8_t> s) { return Fnv1a64{}.bytes(s).value(); }

}  // namespace weft
