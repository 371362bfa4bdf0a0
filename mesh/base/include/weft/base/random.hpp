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

/// libsodium's randombytes: one getrandom(2) per draw. Kept for comparison; production uses
/// StreamRandom.
class SodiumRandom final : public Random {
 public:
  std::uint64_t next_u64() override;
};

/// A CSPRNG seeded once (per process) from libsodium's randombytes, then drawing from a
/// ChaCha20 keystream with fast key erasure: each refill generates the next key along with
/// kBlock bytes of output, so earlier output cannot be recomputed from the state. No syscall per
/// draw (relaying one gossip message at 50 peers made 11 getrandom calls). Not thread-safe: one
/// per actor.
class StreamRandom final : public Random {
 public:
  static constexpr std::size_t kKeyBytes = 32;
  static constexpr std::size_t kBlock = 512;
  /// Seeded from randombytes_buf.
  StreamRandom();
  /// A fixed seed: for tests (the same seed gives the same stream).
  explicit StreamRandom(std::span<const std::uint8_t, kKeyBytes> seed);
  ~StreamRandom() override;
  StreamRandom(const StreamRandom&) = delete;
  StreamRandom& operator=(const StreamRandom&) = delete;
  std::uint64_t next_u64() override;
  std::uint64_t refills() const { return refills_; }

 private:
  void refill();
  std::uint8_t key_[kKeyBytes];
  std::uint8_t buf_[kBlock];
  std::size_t pos_ = kBlock;
  std::uint64_t refills_ = 0;
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
