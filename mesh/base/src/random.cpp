#include "weft/base/random.hpp"

#include <sodium.h>

namespace weft {

std::uint64_t Random::uniform(std::uint64_t n) {
  if (n == 0) return 0;
  // Rejection sampling avoids modulo bias.
  std::uint64_t limit = ~std::uint64_t{0} - (~std::uint64_t{0} % n);
  for (;;) {
    auto v = next_u64();
    if (v < limit) return v % n;
  }
}

void Random::fill(std::span<std::uint8_t> out) {
  std::size_t i = 0;
  while (i < out.size()) {
    auto v = next_u64();
    for (int k = 0; k < 8 && i < out.size(); ++k, ++i) out[i] = static_cast<std::uint8_t>(v >> (8 * k));
  }
}

std::uint64_t SodiumRandom::next_u64() {
  std::uint64_t v;
  randombytes_buf(&v, sizeof v);
  return v;
}

std::uint64_t SeededRandom::next_u64() {
  std::uint64_t z = (state_ += 0x9E3779B97F4A7C15ull);
  z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
  z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
  return z ^ (z >> 31);
}

}  // namespace weft
