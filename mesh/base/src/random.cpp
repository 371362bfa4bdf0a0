#include "weft/base/random.hpp"

#include <sodium.h>

#include <cstring>

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

StreamRandom::StreamRandom() { randombytes_buf(key_, sizeof key_); }

StreamRandom::StreamRandom(std::span<const std::uint8_t, kKeyBytes> seed) {
  std::memcpy(key_, seed.data(), kKeyBytes);
}

StreamRandom::~StreamRandom() {
  sodium_memzero(key_, sizeof key_);
  sodium_memzero(buf_, sizeof buf_);
}

void StreamRandom::refill() {
  // Fast key erasure: one keystream gives the next key and the output; the nonce can stay zero
  // because no key is ever used twice.
  std::uint8_t block[kKeyBytes + kBlock];
  static constexpr std::uint8_t kNonce[crypto_stream_chacha20_ietf_NONCEBYTES] = {};
  crypto_stream_chacha20_ietf(block, sizeof block, kNonce, key_);
  std::memcpy(key_, block, kKeyBytes);
  std::memcpy(buf_, block + kKeyBytes, kBlock);
  sodium_memzero(block, sizeof block);
  pos_ = 0;
  ++refills_;
}

std::uint64_t StreamRandom::next_u64() {
  if (pos_ + sizeof(std::uint64_t) > kBlock) refill();
  std::uint64_t v;
  std::memcpy(&v, buf_ + pos_, sizeof v);
  sodium_memzero(buf_ + pos_, sizeof v);  // output handed out is not kept
  pos_ += sizeof v;
  return v;
}

std::uint64_t SeededRandom::next_u64() {
  std::uint64_t z = (state_ += 0x9E3779B97F4A7C15ull);
  z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
  z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
  return z ^ (z >> 31);
}

}  // namespace weft
