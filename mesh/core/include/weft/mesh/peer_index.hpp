#pragma once
// A flat hash index from PeerName to a pointer (issue 19): open addressing with linear probing
// and backward-shift deletion in one array of 16-byte slots, so a lookup costs about one cache
// line instead of a walk down a red-black tree (log2 n dependent loads). Topology keeps its
// ordered std::map for every iteration (gossip in name order, route determinism) and uses this
// index only for point lookups on the hot path. Not thread-safe; pointers are not owned.
#include <bit>
#include <cstddef>
#include <cstdint>
#include <vector>

#include "weft/base/peer_name.hpp"

namespace weft::mesh {

template <class T>
class PeerIndex {
 public:
  /// The pointer stored for `name`, or nullptr.
  T* find(PeerName name) const {
    if (slots_.empty()) return nullptr;
    auto key = key_of(name);
    for (auto i = home(key);; i = (i + 1) & mask_) {
      const auto& s = slots_[i];
      if (s.key == key) return s.ptr;
      if (s.key == 0) return nullptr;
    }
  }
  bool contains(PeerName name) const { return find(name) != nullptr; }

  /// Maps `name` to `ptr` (non-null), replacing any previous pointer.
  void insert(PeerName name, T* ptr) {
    if ((size_ + 1) * 4 > slots_.size() * 3) grow();
    auto key = key_of(name);
    for (auto i = home(key);; i = (i + 1) & mask_) {
      auto& s = slots_[i];
      if (s.key == key) {
        s.ptr = ptr;
        return;
      }
      if (s.key == 0) {
        s = Slot{key, ptr};
        ++size_;
        return;
      }
    }
  }

  /// Removes `name`; returns whether it was there.
  bool erase(PeerName name) {
    if (slots_.empty()) return false;
    auto key = key_of(name);
    auto i = home(key);
    for (;; i = (i + 1) & mask_) {
      if (slots_[i].key == key) break;
      if (slots_[i].key == 0) return false;
    }
    // Backward shift: pull later members of the probe run into the hole, so no tombstones.
    for (auto j = (i + 1) & mask_;; j = (j + 1) & mask_) {
      auto& s = slots_[j];
      if (s.key == 0) break;
      // s may move into the hole at i only if its home is not cyclically in (i, j].
      if (((j - home(s.key)) & mask_) >= ((j - i) & mask_)) {
        slots_[i] = s;
        i = j;
      }
    }
    slots_[i] = Slot{};
    --size_;
    return true;
  }

  std::size_t size() const { return size_; }
  /// Slots allocated (a power of two, or 0): the load factor stays at most 3/4.
  std::size_t capacity() const { return slots_.size(); }
  void clear() {
    slots_.clear();
    mask_ = 0;
    size_ = 0;
  }

 private:
  struct Slot {
    std::uint64_t key = 0;  ///< name + 1 (names are 48-bit, so never 0); 0 = empty
    T* ptr = nullptr;
  };

  static std::uint64_t key_of(PeerName name) { return name.value() + 1; }
  std::size_t home(std::uint64_t key) const {
    // Fibonacci hashing: the table's names are often sequential (MACs of one vendor).
    return static_cast<std::size_t>((key * 0x9E3779B97F4A7C15ull) >> shift_) & mask_;
  }

  void grow() {
    auto cap = slots_.empty() ? std::size_t{16} : slots_.size() * 2;
    std::vector<Slot> old;
    old.swap(slots_);
    slots_.assign(cap, Slot{});
    mask_ = cap - 1;
    shift_ = 64 - std::countr_zero(cap);
    size_ = 0;
    for (const auto& s : old) {
      if (s.key != 0) insert(PeerName(s.key - 1), s.ptr);
    }
  }

  std::vector<Slot> slots_;
  std::size_t mask_ = 0;
  int shift_ = 64;
  std::size_t size_ = 0;
};

}  // namespace weft::mesh
