#include "weft/mesh/topology_sync.hpp"

#include <algorithm>

#include "weft/mesh/gossip_channel.hpp"

namespace weft::mesh {

namespace {

enum : std::uint8_t { kDigest = 1, kVersions = 2, kWant = 3 };
constexpr std::size_t kNameBytes = 6;
constexpr std::size_t kVersionBytes = kNameBytes + 8 + 8;
constexpr std::uint64_t kVersionLimit = std::uint64_t{1} << 63;

void put_name(ByteWriter& w, PeerName n) {
  w.u16be(static_cast<std::uint16_t>(n.value() >> 32));
  w.u32be(static_cast<std::uint32_t>(n.value()));
}

std::optional<PeerName> get_name(ByteReader& r) {
  auto hi = r.u16be();
  auto lo = r.u32be();
  if (!hi || !lo) return std::nullopt;
  return PeerName((std::uint64_t{*hi} << 32) | *lo);
}

bool newer(std::uint64_t v1, std::uint64_t uid1, std::uint64_t v2, std::uint64_t uid2) {
  return v1 > v2 || (v1 == v2 && uid1 > uid2);
}

Result<std::uint32_t> list_count(ByteReader& r, std::size_t entry_bytes, const char* what) {
  auto n = r.u32be();
  if (!n) return make_error("topology sync: truncated {} count", what);
  if (*n > Topology::kMaxUpdatePeers) {
    return make_error("topology sync: {} {} entries exceed the limit of {}", *n, what, Topology::kMaxUpdatePeers);
  }
  if (r.remaining() != std::size_t{*n} * entry_bytes) {
    return make_error("topology sync: {} entries of {} need {} bytes, got {}", *n, what, std::size_t{*n} * entry_bytes,
                      r.remaining());
  }
  return *n;
}

Result<void> unique_names(std::vector<PeerName> names, const char* what) {
  std::sort(names.begin(), names.end());
  if (auto dup = std::adjacent_find(names.begin(), names.end()); dup != names.end()) {
    return make_error("topology sync: {} lists {} twice", what, *dup);
  }
  return ok_result();
}

}  // namespace

std::vector<PeerVersion> topology_versions(const Topology& t) {
  std::vector<PeerVersion> out;
  out.reserve(t.peers().size());
  for (const auto& [name, p] : t.peers()) {
    if (!p.is_placeholder()) out.push_back(PeerVersion{name, p.uid, p.version});
  }
  return out;
}

TopologyDigest topology_digest(const Topology& t) {
  Bytes buf;
  buf.reserve(t.peers().size() * kVersionBytes);
  ByteWriter w(buf);
  std::uint32_t count = 0;
  for (const auto& [name, p] : t.peers()) {
    if (p.is_placeholder()) continue;
    put_name(w, name);
    w.u64be(p.uid);
    w.u64be(p.version);
    ++count;
  }
  return TopologyDigest{count, fnv64a(buf)};
}

SyncPlan plan_sync(const Topology& ours, const std::vector<PeerVersion>& theirs) {
  SyncPlan plan;
  std::vector<PeerVersion> sorted(theirs);
  std::sort(sorted.begin(), sorted.end(), [](const PeerVersion& a, const PeerVersion& b) { return a.name < b.name; });
  auto find = [&](PeerName n) -> const PeerVersion* {
    auto it =
        std::lower_bound(sorted.begin(), sorted.end(), n, [](const PeerVersion& a, PeerName b) { return a.name < b; });
    return it != sorted.end() && it->name == n ? &*it : nullptr;
  };
  for (const auto& [name, p] : ours.peers()) {
    if (p.is_placeholder()) continue;
    const auto* t = find(name);
    if (t == nullptr || newer(p.version, p.uid, t->version, t->uid)) plan.push.push_back(name);
  }
  for (const auto& t : sorted) {
    const auto* p = ours.find(t.name);
    if (p == nullptr || p->is_placeholder() || newer(t.version, t.uid, p->version, p->uid)) plan.want.push_back(t.name);
  }
  return plan;
}

Bytes encode_topology_sync(const TopologySyncMessage& m) {
  Bytes out;
  ByteWriter w(out);
  if (const auto* d = std::get_if<TopologyDigest>(&m)) {
    w.u8(kDigest);
    w.u32be(d->count);
    w.u64be(d->hash);
  } else if (const auto* v = std::get_if<std::vector<PeerVersion>>(&m)) {
    out.reserve(5 + v->size() * kVersionBytes);
    w.u8(kVersions);
    w.u32be(static_cast<std::uint32_t>(v->size()));
    for (const auto& e : *v) {
      put_name(w, e.name);
      w.u64be(e.uid);
      w.u64be(e.version);
    }
  } else {
    const auto& want = std::get<SyncWant>(m);
    out.reserve(5 + want.names.size() * kNameBytes);
    w.u8(kWant);
    w.u32be(static_cast<std::uint32_t>(want.names.size()));
    for (auto n : want.names) put_name(w, n);
  }
  return out;
}

Result<TopologySyncMessage> decode_topology_sync(ByteSpan in) {
  ByteReader r(in);
  auto kind = r.u8();
  if (!kind) return make_error("topology sync: empty message");
  switch (*kind) {
    case kDigest: {
      auto count = r.u32be();
      auto hash = r.u64be();
      if (!count || !hash || !r.empty()) return make_error("topology sync: a digest is 13 bytes, got {}", in.size());
      return TopologySyncMessage{TopologyDigest{*count, *hash}};
    }
    case kVersions: {
      WEFT_TRY(n, list_count(r, kVersionBytes, "version"));
      std::vector<PeerVersion> out;
      std::vector<PeerName> names;
      out.reserve(n);
      names.reserve(n);
      for (std::uint32_t i = 0; i < n; ++i) {
        PeerVersion e{*get_name(r), *r.u64be(), *r.u64be()};  // NB: length checked above
        if (e.name.is_unknown()) return make_error("topology sync: version list names the unknown peer");
        if (e.uid == 0) return make_error("topology sync: version list has {} with uid 0", e.name);
        if (e.version >= kVersionLimit)
          return make_error("topology sync: {} at version {} (>= 2^63)", e.name, e.version);
        out.push_back(e);
        names.push_back(e.name);
      }
      WEFT_TRY_VOID(unique_names(std::move(names), "version list"));
      return TopologySyncMessage{std::move(out)};
    }
    case kWant: {
      WEFT_TRY(n, list_count(r, kNameBytes, "want"));
      SyncWant want;
      want.names.reserve(n);
      for (std::uint32_t i = 0; i < n; ++i) {
        auto name = *get_name(r);  // NB: length checked above
        if (name.is_unknown()) return make_error("topology sync: want list names the unknown peer");
        want.names.push_back(name);
      }
      WEFT_TRY_VOID(unique_names(want.names, "want list"));
      return TopologySyncMessage{std::move(want)};
    }
    default: return make_error("topology sync: unknown message kind {}", *kind);
  }
}

}  // namespace weft::mesh
