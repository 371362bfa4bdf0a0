#pragma once
// Injected randomness (house style R9). Cores take Random&; production passes SodiumRandom, tests a
// SeededRandom so simulations replay exactly.
#include <cstdint>
#include <span>

namespace weft {

class Random {
 public:
  virtual ~Random() = default;
  virtual std::uint64_t next_u64() = 0;
  /// Uniform in [0, n); n == 0 yields 0.
  std::uint64_t uniform(std::uint64_t n);
  /// Uniform in [0, 1).
  double unit() { return static_cast<double>(next_u64() >> 11) * 0x1.0p-53; }
  void fill(std::span<std::uint8_t> out);
};

/// libsodium's randombytes: for production only.
class SodiumRandom final : public Random {
 public:
  std::uint64_t next_u64() override;
};

/// splitmix64: deterministic, for tests and simulations.
class SeededRandom final : public Random {
 public:
  explicit SeededRandom(std::uint64_t seed) : state_(seed) {}
  std::uint64_t next_u64() override;

 private:
  std::uint64_t state_;
};

}  // namespace weft
