#include "weft/ipam/ring.hpp"

#include <algorithm>
#include <optional>

#include "check.hpp"

namespace weft::ipam {

namespace {

constexpr std::uint64_t kMaxEnd = 0xFFFF'FFFFull;

std::uint64_t tok(const RingEntry& e) { return e.token.value(); }

Ipv4 ip(std::uint64_t a) { return Ipv4(static_cast<std::uint32_t>(a)); }

/// Entry distance in a ring over `range`, wrapping when `to` <= `from`.
std::uint64_t ring_distance(Ipv4Range range, std::uint64_t from, std::uint64_t to) {
  if (to > from) return to - from;
  return (range.end() - from) + (to - range.start());
}

/// The checks Weave's checkEntries makes, against `range` (ours, or the sender's own).
Result<void> check_entries_in(Ipv4Range range, const std::vector<RingEntry>& es) {
  for (std::size_t i = 1; i < es.size(); ++i) {
    if (tok(es[i - 1]) > tok(es[i])) return make_error("Ring not sorted");
    if (tok(es[i - 1]) == tok(es[i])) return make_error("Token appears twice in ring");
  }
  if (es.empty()) return {};
  if (tok(es.front()) < range.start() || tok(es.back()) >= range.end())
    return make_error("Token is out of range");
  for (std::size_t i = 0; i < es.size(); ++i) {
    auto next = tok(es[(i + 1) % es.size()]);
    auto dist = ring_distance(range, tok(es[i]), next);
    if (es[i].free > dist) {
      return make_error("Entry {}-{} reporting too much free space: {} > {}", es[i].token, ip(next),
                        es[i].free, dist);
    }
  }
  return {};
}

void update(RingEntry& e, PeerName peer, std::uint64_t free) {
  e.peer = peer;
  e.free = static_cast<std::uint32_t>(free);
  ++e.version;
}

}  // namespace

Ring::Ring(Ipv4Range range, PeerName self) : range_(range), self_(self) {
  WEFT_IPAM_CHECK(range.start() < range.end() && range.end() <= kMaxEnd, "bad ring range {}",
                  range);
}

std::uint64_t Ring::distance(std::uint64_t from, std::uint64_t to) const {
  return ring_distance(range_, from, to);
}

const RingEntry& Ring::entry_at(std::ptrdiff_t i) const {
  auto n = static_cast<std::ptrdiff_t>(entries_.size());
  return entries_[static_cast<std::size_t>(((i % n) + n) % n)];
}
RingEntry& Ring::entry_at(std::ptrdiff_t i) {
  auto n = static_cast<std::ptrdiff_t>(entries_.size());
  return entries_[static_cast<std::size_t>(((i % n) + n) % n)];
}

Result<void> Ring::check_entries(const std::vector<RingEntry>& es) const {
  return check_entries_in(range_, es);
}

Result<void> Ring::check_invariants() const { return check_entries(entries_); }

void Ring::assert_invariants() const {
#ifndef NDEBUG
  auto r = check_invariants();
  WEFT_IPAM_CHECK(r.ok(), "ring invariant: {}", r.ok() ? "" : r.error().message);
#endif
}

WireRing Ring::to_wire() const { return WireRing{range_, self_, entries_, seeds_}; }

Result<void> Ring::restore(const WireRing& persisted) {
  if (persisted.range != range_) {
    return make_error("persisted ring range {} differs from ours {}", persisted.range, range_);
  }
  WEFT_TRY_VOID(check_entries(persisted.entries));
  entries_ = persisted.entries;
  seeds_ = persisted.seeds;
  return {};
}

std::vector<Ipv4Range> Ring::split_over_zero(std::vector<Ipv4Range> ranges) const {
  if (ranges.empty()) return ranges;
  auto last = ranges.back();
  if (last.end() == range_.start()) {
    ranges.back() = Ipv4Range(last.start(), range_.end());
  } else if (last.end() <= last.start()) {
    // Wrapped: [last.start, End) and [Start, last.end), kept in address order.
    ranges.back() = Ipv4Range(last.start(), range_.end());
    ranges.insert(ranges.begin(), Ipv4Range(range_.start(), last.end()));
  }
  return ranges;
}

std::vector<Ipv4Range> Ring::make_ranges(std::uint64_t start, std::uint64_t end) const {
  return split_over_zero({Ipv4Range(start, end)});
}

Result<bool> Ring::merge(const WireRing& theirs, const HasAllocations& has_allocations) {
  // Never trust the incoming ring: check it against its own claimed range first.
  WEFT_TRY_VOID(check_entries_in(theirs.range, theirs.entries));
  if (!theirs.seeds.empty() && !seeds_.empty() && theirs.seeds != seeds_) {
    return make_error("Received ring was seeded differently from ours!");
  }
  if (theirs.range != range_) return make_error("Received range differs from ours!");

  const auto& ours = entries_;
  const auto& other = theirs.entries;
  std::vector<RingEntry> result;
  result.reserve(ours.size() + other.size());
  bool updated = false;
  // Owner of the last entry kept from our side; cleared when one of theirs is taken.
  // NB: a flag rather than std::optional, which trips GCC 12's -Wmaybe-uninitialized.
  bool have_previous = false;
  PeerName previous_owner;
  auto add_ours = [&](const RingEntry& e) {
    result.push_back(e);
    previous_owner = e.peer;
    have_previous = true;
  };
  auto add_theirs = [&](const RingEntry& e) {
    result.push_back(e);
    updated = true;
    have_previous = false;
  };
  auto our_next_token = [&](std::size_t i) { return tok(ours[(i + 1) % ours.size()]); };

  std::size_t i = 0, j = 0;
  while (i < ours.size() && j < other.size()) {
    const auto& mine = ours[i];
    const auto& th = other[j];
    if (tok(mine) < tok(th)) {
      add_ours(mine);
      ++i;
    } else if (tok(mine) > tok(th)) {
      // A foreign token splitting a range we own: fine only if nothing is allocated in the piece
      // it takes, [their token, our next token).
      if ((have_previous && previous_owner == self_) && th.peer != self_ &&
          has_allocations(make_ranges(tok(th), tok(mine)))) {
        return make_error("Peer {} says it owns the IP range from {}, which I think I own", th.peer,
                          th.token);
      }
      add_theirs(th);
      ++j;
    } else {
      if (mine.version >= th.version) {
        if (mine.version == th.version && mine.peer != th.peer) {
          if (mine.peer == self_ && has_allocations(make_ranges(tok(th), our_next_token(i)))) {
            return make_error(
                "Inconsistent entries for {}: owned by {} but incoming message says {}", mine.token,
                mine.peer, th.peer);
          }
          // Tie-break: the entry with more free space.
          if (mine.free >= th.free) {
            add_ours(mine);
          } else {
            add_theirs(th);
          }
        } else {
          add_ours(mine);
        }
      } else if (mine.peer == self_) {
        // Someone sent a newer version of an entry we own.
        if (th.peer != self_ && !has_allocations(make_ranges(tok(mine), our_next_token(i)))) {
          add_theirs(th);  // repair: it moved away and we lose nothing
        } else if (th.peer == self_) {
          if (th.version == UINT32_MAX) {
            return make_error(
                "Received update for IP range I own at {} with version {}: cannot re-assert",
                mine.token, th.version);
          }
          auto reasserted = mine;
          reasserted.version = th.version + 1;  // re-impose our entry
          add_ours(reasserted);
          updated = true;
        } else {
          return make_error(
              "Received update for IP range I own at {} v{}: incoming message says owner {} v{}",
              mine.token, mine.version, th.peer, th.version);
        }
      } else {
        add_theirs(th);
      }
      ++i;
      ++j;
    }
  }
  for (; i < ours.size(); ++i) result.push_back(ours[i]);
  for (; j < other.size(); ++j) {
    const auto& th = other[j];
    if ((have_previous && previous_owner == self_) && th.peer != self_) {
      return make_error("Peer {} says it owns the IP range from {}, which I think I own", th.peer,
                        th.token);
    }
    add_theirs(th);
  }

  // Our range may have been split by an accepted update: clamp what we claim to be free.
  for (std::size_t k = 0; k < result.size(); ++k) {
    auto dist = ring_distance(range_, tok(result[k]), tok(result[(k + 1) % result.size()]));
    if (result[k].peer == self_ && result[k].free > dist)
      result[k].free = static_cast<std::uint32_t>(dist);
  }
  if (auto r = check_entries(result); !r.ok()) {
    return make_error("Merge of incoming data causes: {}", r.error().message);
  }
  if (seeds_.empty() && !theirs.seeds.empty()) {
    seeds_ = theirs.seeds;
    updated = true;
  }
  entries_ = std::move(result);
  assert_invariants();
  return updated;
}

void Ring::claim_for_peers(const std::vector<PeerName>& peers) {
  WEFT_IPAM_CHECK(empty() && !peers.empty(),
                  "claim_for_peers on a non-empty ring or with no peers");
  // Recursive halving: CIDR-aligned shares as long as the range is a CIDR.
  struct Sub {
    std::vector<RingEntry>& out;
    void operator()(std::uint64_t from, std::uint64_t to, const PeerName* ps, std::size_t n) {
      std::uint64_t share = to - from;
      if (share == 0) return;
      if (share == 1 || n == 1) {
        out.push_back(RingEntry{ip(from), ps[0], 0, static_cast<std::uint32_t>(share)});
        return;
      }
      std::uint64_t mid = from + share / 2;
      (*this)(from, mid, ps, n / 2);
      (*this)(mid + share % 2, to, ps + n / 2, n - n / 2);
    }
  };
  Sub{entries_}(range_.start(), range_.end(), peers.data(), peers.size());
  seeds_ = peers;
  assert_invariants();
}

void Ring::grant_range_to_host(Ipv4Range r, PeerName peer) {
  const std::uint64_t start = r.start();
  std::uint64_t end = r.end();
  WEFT_IPAM_CHECK(start < end && range_.start() <= start && end <= range_.end() && !empty(),
                  "grant of {} outside ring {}", r, range_);
  WEFT_IPAM_CHECK(owner(ip(start)) == self_, "grant of {} we do not own", r);
  for (auto& e : entries_) {
    WEFT_IPAM_CHECK(!(tok(e) > start && tok(e) < end) || e.peer == self_, "grant of {} crosses {}",
                    r, e.peer);
  }

  // The right-most entry with token <= start (-1 = wraps to the last entry).
  auto pos = static_cast<std::ptrdiff_t>(
                 std::upper_bound(entries_.begin(), entries_.end(), start,
                                  [](std::uint64_t v, const RingEntry& e) { return v < tok(e); }) -
                 entries_.begin()) -
             1;
  auto start_free = std::min(distance(start, tok(entry_at(pos + 1))), distance(start, end));
  if (tok(entry_at(pos)) == start) {
    update(entry_at(pos), peer, start_free);
  } else {
    bool wrapped = pos < 0;
    entries_.insert(entries_.begin() + (pos + 1),
                    RingEntry{ip(start), peer, 0, static_cast<std::uint32_t>(start_free)});
    ++pos;
    // The entry before the new token is still ours; it now ends at `start`.
    auto& prev = wrapped ? entries_.back() : entries_[static_cast<std::size_t>(pos - 1)];
    update(prev, self_, distance(tok(prev), start));
  }
  // Everything else up to `end` goes to the peer too.
  auto p = static_cast<std::size_t>(pos + 1);
  for (; p < entries_.size() && tok(entries_[p]) < end; ++p) {
    auto& e = entries_[p];
    update(e, peer, std::min<std::uint64_t>(e.free, distance(tok(e), end)));
  }
  // The ring's end is exclusive: a token at End is the token at Start.
  if (end == range_.end()) end = range_.start();
  bool have_end = std::any_of(entries_.begin(), entries_.end(),
                              [&](const RingEntry& e) { return tok(e) == end; });
  if (!have_end) {
    auto end_free = distance(end, tok(entry_at(static_cast<std::ptrdiff_t>(p))));
    auto at = std::lower_bound(entries_.begin(), entries_.end(), end,
                               [](const RingEntry& e, std::uint64_t v) { return tok(e) < v; });
    entries_.insert(at, RingEntry{ip(end), self_, 0, static_cast<std::uint32_t>(end_free)});
  }
  assert_invariants();
}

bool Ring::report_free(std::map<std::uint64_t, std::uint32_t> free_by_start) {
  WEFT_IPAM_CHECK(!empty(), "report_free on an empty ring");
  // owned_ranges() splits a range wrapping past the end; fold the piece at Start back.
  if (auto it = free_by_start.find(range_.start());
      it != free_by_start.end() && tok(entries_.front()) != range_.start()) {
    auto last = tok(entries_.back());
    auto jt = free_by_start.find(last);
    WEFT_IPAM_CHECK(jt != free_by_start.end(), "report_free: wrapped range without its head");
    jt->second += it->second;
    free_by_start.erase(it);
  }
  bool updated = false;
  for (auto [start, free] : free_by_start) {
    auto it = std::lower_bound(entries_.begin(), entries_.end(), start,
                               [](const RingEntry& e, std::uint64_t v) { return tok(e) < v; });
    WEFT_IPAM_CHECK(it != entries_.end() && tok(*it) == start && it->peer == self_,
                    "report_free for {} which we do not own", ip(start));
    auto idx = it - entries_.begin();
    auto max = distance(tok(*it), tok(entry_at(idx + 1)));
    WEFT_IPAM_CHECK(free <= max, "report_free: {} free in a range of {}", free, max);
    if (it->free != free) {
      it->free = free;
      ++it->version;
      updated = true;
    }
  }
  assert_invariants();
  return updated;
}

std::vector<Ipv4Range> Ring::owned_ranges_of(PeerName peer) const {
  std::vector<Ipv4Range> out;
  for (std::size_t i = 0; i < entries_.size(); ++i) {
    if (entries_[i].peer == peer) {
      out.emplace_back(tok(entries_[i]), tok(entries_[(i + 1) % entries_.size()]));
    }
  }
  return split_over_zero(std::move(out));
}

std::vector<Ipv4Range> Ring::transfer(PeerName from, PeerName to) {
  std::vector<Ipv4Range> moved;
  for (std::size_t i = 0; i < entries_.size(); ++i) {
    auto& e = entries_[i];
    if (e.peer == from) {
      e.peer = to;
      e.version += kTransferVersionBump;
      moved.emplace_back(tok(e), tok(entries_[(i + 1) % entries_.size()]));
    }
  }
  assert_invariants();
  return split_over_zero(std::move(moved));
}

PeerName Ring::owner(Ipv4 a) const {
  if (empty()) return PeerName{};
  auto it = std::upper_bound(entries_.begin(), entries_.end(), std::uint64_t{a.value()},
                             [](std::uint64_t v, const RingEntry& e) { return v < tok(e); });
  return entry_at((it - entries_.begin()) - 1).peer;
}

std::vector<PeerName> Ring::choose_peers_to_ask_for_space(Ipv4Range r, Random& rng) const {
  std::map<PeerName, std::uint64_t> total;
  for (std::size_t i = 0; i < entries_.size(); ++i) {
    const auto& e = entries_[i];
    if (e.free == 0 || e.peer == self_) continue;
    for (auto& piece : make_ranges(tok(e), tok(entries_[(i + 1) % entries_.size()]))) {
      if (piece.overlaps(r)) {
        total[e.peer] += e.free;
        break;
      }
    }
  }
  std::vector<std::pair<double, PeerName>> weighted;
  weighted.reserve(total.size());
  for (auto [p, space] : total) weighted.emplace_back(static_cast<double>(space) * rng.unit(), p);
  std::stable_sort(weighted.begin(), weighted.end(),
                   [](auto& a, auto& b) { return a.first > b.first; });
  std::vector<PeerName> out;
  out.reserve(weighted.size());
  for (auto& [w, p] : weighted) out.push_back(p);
  return out;
}

PeerName Ring::pick_peer_for_transfer(const std::function<bool(PeerName)>& valid) const {
  for (auto& e : entries_) {
    if (e.peer != self_ && valid(e.peer)) return e.peer;
  }
  return PeerName{};
}

std::set<PeerName> Ring::peer_names() const {
  std::set<PeerName> out;
  for (auto& e : entries_) out.insert(e.peer);
  return out;
}

std::vector<RangeInfo> Ring::all_range_info() const {
  std::vector<RangeInfo> out;
  for (std::size_t i = 0; i < entries_.size(); ++i) {
    const auto& e = entries_[i];
    for (auto& piece : make_ranges(tok(e), tok(entries_[(i + 1) % entries_.size()]))) {
      out.push_back(RangeInfo{e.peer, piece, e.version});
    }
  }
  return out;
}

std::map<PeerName, std::uint64_t> Ring::owned_sizes() const {
  std::map<PeerName, std::uint64_t> out;
  for (std::size_t i = 0; i < entries_.size(); ++i) {
    out[entries_[i].peer] += distance(tok(entries_[i]), tok(entries_[(i + 1) % entries_.size()]));
  }
  return out;
}

}  // namespace weft::ipam
