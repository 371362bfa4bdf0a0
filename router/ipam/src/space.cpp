#include "weft/ipam/space.hpp"

#include <algorithm>

namespace weft::ipam {

namespace {

std::uint64_t msb(std::uint64_t v) {
  std::uint64_t p = 1;
  while (p <= v / 2) p <<= 1;
  return v == 0 ? 0 : p;
}

}  // namespace

Ipv4Range biggest_cidr_range(Ipv4Range r) {
  const std::uint64_t size = r.size();
  if (size == 0) return Ipv4Range(r.start(), r.start());
  const std::uint64_t size_msb = msb(size);
  const std::uint64_t masked_size = size & (size_msb - 1);
  const std::uint64_t masked_start = r.start() & (size_msb - 1);
  if (masked_start == 0) return Ipv4Range(r.start(), r.start() + size_msb);
  // The only size_msb-aligned block that could fit starts at the next boundary.
  if (size_msb - masked_start <= masked_size) {
    auto s = r.start() + size_msb - masked_start;
    return Ipv4Range(s, s + size_msb);
  }
  const std::uint64_t half = size_msb / 2;
  auto s =
      half >= masked_start ? r.start() + half - masked_start : r.start() + size_msb - masked_start;
  return Ipv4Range(s, s + half);
}

bool Space::contains(const Bounds& b, std::uint64_t a) {
  return ((std::upper_bound(b.begin(), b.end(), a) - b.begin()) & 1) != 0;
}

Space::Bounds Space::add_sub(const Bounds& b, std::uint64_t start, std::uint64_t end,
                             bool subtract) {
  const std::size_t sense = subtract ? 1 : 0;
  auto start_pos =
      static_cast<std::size_t>(std::lower_bound(b.begin(), b.end(), start) - b.begin());
  auto end_pos = static_cast<std::size_t>(
      std::upper_bound(b.begin() + static_cast<std::ptrdiff_t>(start_pos), b.end(), end) -
      b.begin());
  Bounds res(b.begin(), b.begin() + static_cast<std::ptrdiff_t>(start_pos));
  res.reserve(b.size() + 2);
  // Keep start/end as boundaries where they fall outside (add) or inside (subtract) a run.
  if ((start_pos & 1) == sense) res.push_back(start);
  if ((end_pos & 1) == sense) res.push_back(end);
  res.insert(res.end(), b.begin() + static_cast<std::ptrdiff_t>(end_pos), b.end());
  return res;
}

template <typename F>
bool Space::walk_free(Ipv4Range r, F&& f) const {
  if (r.start() >= r.end()) return false;
  for (std::size_t i = 0; i + 1 < free_.size(); i += 2) {
    std::uint64_t s = free_[i], e = free_[i + 1];
    if (e <= r.start()) continue;
    if (s >= r.end()) break;
    if (f(Ipv4Range(std::max(s, r.start()), std::min(e, r.end())))) return true;
  }
  return false;
}

void Space::add(Ipv4Range r) {
  if (r.size() > 0) free_ = add_sub(free_, r.start(), r.end(), false);
}

void Space::clear() {
  allocated_.clear();
  free_.clear();
}

std::optional<Ipv4> Space::allocate(Ipv4Range r) {
  std::optional<Ipv4> out;
  walk_free(r, [&](Ipv4Range chunk) {
    out = Ipv4(static_cast<std::uint32_t>(chunk.start()));
    return true;
  });
  if (out) {
    allocated_ = add_sub(allocated_, out->value(), std::uint64_t{out->value()} + 1, false);
    free_ = add_sub(free_, out->value(), std::uint64_t{out->value()} + 1, true);
  }
  return out;
}

Result<void> Space::claim(Ipv4 a) {
  if (!contains(free_, a.value())) return make_error("Address {} is not free to claim", a);
  allocated_ = add_sub(allocated_, a.value(), std::uint64_t{a.value()} + 1, false);
  free_ = add_sub(free_, a.value(), std::uint64_t{a.value()} + 1, true);
  return {};
}

Result<void> Space::free(Ipv4 a) {
  if (!contains(allocated_, a.value())) return make_error("Address {} is not ours", a);
  allocated_ = add_sub(allocated_, a.value(), std::uint64_t{a.value()} + 1, true);
  free_ = add_sub(free_, a.value(), std::uint64_t{a.value()} + 1, false);
  return {};
}

bool Space::is_free(Ipv4 a) const { return contains(free_, a.value()); }
bool Space::is_allocated(Ipv4 a) const { return contains(allocated_, a.value()); }

std::uint64_t Space::num_owned() const {
  std::uint64_t n = 0;
  for (std::size_t i = 0; i + 1 < allocated_.size(); i += 2) n += allocated_[i + 1] - allocated_[i];
  return n;
}

std::uint64_t Space::num_free() const {
  std::uint64_t n = 0;
  for (std::size_t i = 0; i + 1 < free_.size(); i += 2) n += free_[i + 1] - free_[i];
  return n;
}

std::uint64_t Space::num_free_in(Ipv4Range r) const {
  std::uint64_t n = 0;
  walk_free(r, [&](Ipv4Range chunk) {
    n += chunk.size();
    return false;
  });
  return n;
}

bool Space::has_allocations(const std::vector<Ipv4Range>& ranges) const {
  for (auto& r : ranges) {
    for (std::size_t i = 0; i + 1 < allocated_.size(); i += 2) {
      if (allocated_[i] < r.end() && r.start() < allocated_[i + 1]) return true;
    }
  }
  return false;
}

std::optional<Ipv4Range> Space::donate(Ipv4Range r) {
  Ipv4Range biggest;
  std::uint64_t biggest_size = 0;
  walk_free(r, [&](Ipv4Range chunk) {
    if (chunk.size() >= biggest_size) {
      auto c = biggest_cidr_range(chunk);
      if (c.size() >= biggest_size) {
        biggest = c;
        biggest_size = c.size();
      }
    }
    return false;
  });
  if (biggest_size == 0) return std::nullopt;
  // Give no more than half of what we have there; size/2 rounds down, so the gift is never empty.
  if (biggest_size > num_free_in(r) / 2)
    biggest = Ipv4Range(biggest.start() + biggest_size / 2, biggest.end());
  allocated_ = add_sub(allocated_, biggest.start(), biggest.end(), true);
  free_ = add_sub(free_, biggest.start(), biggest.end(), true);
  return biggest;
}

Space::Bounds Space::everything() const {
  Bounds all = allocated_;
  for (std::size_t i = 0; i + 1 < free_.size(); i += 2)
    all = add_sub(all, free_[i], free_[i + 1], false);
  return all;
}

std::vector<Ipv4Range> Space::owned_ranges() const {
  auto all = everything();
  std::vector<Ipv4Range> out;
  for (std::size_t i = 0; i + 1 < all.size(); i += 2) out.emplace_back(all[i], all[i + 1]);
  return out;
}

std::vector<Ipv4> Space::update_ranges(const std::vector<Ipv4Range>& ranges) {
  Bounds want;
  for (auto& r : ranges) {
    if (r.size() > 0) want = add_sub(want, r.start(), r.end(), false);
  }
  auto current = everything();
  // New space: want - current, added as free.
  Bounds gained = want;
  for (std::size_t i = 0; i + 1 < current.size(); i += 2)
    gained = add_sub(gained, current[i], current[i + 1], true);
  for (std::size_t i = 0; i + 1 < gained.size(); i += 2)
    free_ = add_sub(free_, gained[i], gained[i + 1], false);
  // Lost space: current - want, dropped from both sets.
  Bounds lost = current;
  for (std::size_t i = 0; i + 1 < want.size(); i += 2)
    lost = add_sub(lost, want[i], want[i + 1], true);
  std::vector<Ipv4> dropped;
  for (std::size_t i = 0; i + 1 < lost.size(); i += 2) {
    for (std::size_t k = 0; k + 1 < allocated_.size(); k += 2) {
      auto s = std::max(lost[i], allocated_[k]), e = std::min(lost[i + 1], allocated_[k + 1]);
      for (auto a = s; a < e; ++a) dropped.push_back(Ipv4(static_cast<std::uint32_t>(a)));
    }
  }
  for (std::size_t i = 0; i + 1 < lost.size(); i += 2) {
    allocated_ = add_sub(allocated_, lost[i], lost[i + 1], true);
    free_ = add_sub(free_, lost[i], lost[i + 1], true);
  }
  return dropped;
}

Result<void> Space::check_invariants() const {
  for (auto* b : {&allocated_, &free_}) {
    if (b->size() % 2 != 0) return make_error("space: odd boundary list");
    for (std::size_t i = 1; i < b->size(); ++i) {
      if ((*b)[i - 1] >= (*b)[i]) return make_error("space: boundaries not strictly increasing");
    }
  }
  for (std::size_t i = 0; i + 1 < allocated_.size(); i += 2) {
    for (std::size_t k = 0; k + 1 < free_.size(); k += 2) {
      if (allocated_[i] < free_[k + 1] && free_[k] < allocated_[i + 1])
        return make_error("space: address both free and allocated");
    }
  }
  return {};
}

}  // namespace weft::ipam
