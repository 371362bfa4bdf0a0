#include "weft/dns/nameserver.hpp"

#include <fmt/format.h>

#include <cstdlib>
#include <limits>

#include "weft/base/check.hpp"

namespace weft::dns {

Nameserver::Nameserver(NameserverConfig config, Logger log)
    : self_(config.self),
      domain_(fqdn(config.domain)),
      is_known_peer_(std::move(config.is_known_peer)),
      wall_clock_(std::move(config.wall_clock)),
      log_(std::move(log)) {}

Nameserver::Key Nameserver::key_of(const Entry& e) {
  return Key{to_lower(e.hostname), e.hostname, e.origin, e.container_id, e.addr};
}

// ---- gossip

std::vector<Bytes> Nameserver::full_state(TimePoint now) {
  // NB: sent even when empty, as Weave does: the receiver's clock-skew check still runs.
  GossipData g{wall(now), entries()};
  return {encode_gossip_data(std::move(g))};
}

Result<std::optional<Bytes>> Nameserver::on_gossip(TimePoint now, PeerName, ByteSpan payload, mesh::GossipSender& out) {
  GossipData received;
  std::vector<Entry> fresh;
  WEFT_TRY_VOID(receive(now, payload, out, received, fresh));
  if (fresh.empty()) return std::optional<Bytes>{};
  return std::optional<Bytes>(encode_gossip_data(GossipData{wall(now), std::move(fresh)}));
}

Result<std::optional<Bytes>> Nameserver::on_broadcast(TimePoint now, PeerName, ByteSpan payload,
                                                      mesh::GossipSender& out) {
  GossipData received;
  std::vector<Entry> fresh;
  WEFT_TRY_VOID(receive(now, payload, out, received, fresh));
  // NB: relayed even when nothing was new, with the sender's Timestamp (Weave's OnGossipBroadcast).
  return std::optional<Bytes>(encode_gossip_data(std::move(received)));
}

Result<void> Nameserver::receive(TimePoint now, ByteSpan payload, mesh::GossipSender& out, GossipData& received,
                                 std::vector<Entry>& fresh) {
  WEFT_TRY(g, decode_gossip_data(payload));
  const std::int64_t now_unix = wall(now);
  // NB: 128-bit difference: a hostile Timestamp near INT64_MIN must not overflow.
  const __int128 delta = static_cast<__int128>(g.timestamp) - now_unix;
  if (delta > kGossipWindowSeconds || delta < -kGossipWindowSeconds) {
    constexpr auto kMax = std::numeric_limits<std::int64_t>::max();
    constexpr auto kMin = std::numeric_limits<std::int64_t>::min();
    const auto shown = static_cast<std::int64_t>(delta > kMax ? kMax : delta < kMin ? kMin : delta);
    return make_error("host clock skew of {}s exceeds {}s limit", shown, kGossipWindowSeconds);
  }

  std::vector<Entry> kept;
  kept.reserve(g.entries.size());
  std::vector<Entry> overrides;
  for (auto& e : g.entries) {
    if (e.origin != self_ && !(is_known_peer_ && is_known_peer_(e.origin))) continue;
    if (e.origin == self_) {
      auto it = table_.find(key_of(e));
      if (it != table_.end()) {
        const Entry& ours = it->second;
        if (ours.version < e.version || (ours.version == e.version && ours.tombstone != e.tombstone)) {
          // Someone holds a newer (or conflicting) idea of our own entry, e.g. from before we
          // restarted: take ours, but with a Version that beats theirs.
          auto bumped = next_version(e.version);
          e = ours;
          e.version = bumped;
          overrides.push_back(e);
        }
      } else if (tombstone_entry(e, now_unix)) {
        // We never registered it (or forgot it in a restart): delete it everywhere.
        overrides.push_back(e);
      }
    }
    kept.push_back(std::move(e));
  }

  for (const auto& e : kept) {
    auto [it, inserted] = table_.try_emplace(key_of(e), e);
    if (inserted || merge_entry(it->second, e)) fresh.push_back(e);
  }
  debug_check();

  if (!overrides.empty()) broadcast(now, std::move(overrides), &out);
  received = GossipData{g.timestamp, std::move(kept)};
  return {};
}

void Nameserver::broadcast(TimePoint now, std::vector<Entry> entries, mesh::GossipSender* out) {
  if (out == nullptr || entries.empty()) return;
  out->broadcast(encode_gossip_data(GossipData{wall(now), std::move(entries)}));
}

// ---- lookups

std::vector<Ipv4> Nameserver::lookup(std::string_view hostname) const {
  std::vector<Ipv4> out;
  Key lo{to_lower(hostname), {}, PeerName(), {}, Ipv4()};
  for (auto it = table_.lower_bound(lo); it != table_.end() && it->first.lower == lo.lower; ++it) {
    if (it->second.live()) out.push_back(it->second.addr);
  }
  return out;
}

std::optional<std::string> Nameserver::reverse_lookup(Ipv4 ip) const {
  for (const auto& [k, e] : table_) {
    if (e.live() && e.addr == ip) return e.hostname;
  }
  return std::nullopt;
}

// ---- registration

std::optional<Entry> Nameserver::add_entry_fqdn(TimePoint now, std::string_view name, std::string_view container,
                                                Ipv4 addr, mesh::GossipSender* out) {
  auto hostname = fqdn(name);
  if (!is_subdomain(hostname, domain_)) {
    log_.info("Ignoring registration {} {} {} (not a subdomain of {})", hostname, addr, container, domain_);
    return std::nullopt;
  }
  return add_entry(now, hostname, container, self_, addr, out);
}

Entry Nameserver::add_entry(TimePoint now, std::string_view hostname, std::string_view container, PeerName origin,
                            Ipv4 addr, mesh::GossipSender* out) {
  log_.info("adding entry for {}: {} -> {}", container, hostname, addr);
  Entry e{std::string(container), origin, addr, std::string(hostname), 0, 0};
  auto [it, inserted] = table_.try_emplace(key_of(e), e);
  if (!inserted && !it->second.live()) {
    it->second.tombstone = 0;
    it->second.version = next_version(it->second.version);
  }
  Entry result = it->second;
  debug_check();
  broadcast(now, {result}, out);
  return result;
}

std::vector<Entry> Nameserver::delete_entries(TimePoint now, const DeleteFilter& f, mesh::GossipSender* out) {
  std::optional<std::string> host;
  if (f.hostname) host = fqdn(*f.hostname);
  log_.info("tombstoning hostname={}, container={}, ip={}", host.value_or("*"), f.container.value_or("*"),
            f.addr ? f.addr->str() : std::string("*"));
  std::vector<Entry> changed;
  const auto now_unix = wall(now);
  for (auto& [k, e] : table_) {
    if (e.origin != self_) continue;
    if (host && e.hostname != *host) continue;
    if (f.container && e.container_id != *f.container) continue;
    if (f.addr && e.addr != *f.addr) continue;
    if (tombstone_entry(e, now_unix)) changed.push_back(e);
  }
  debug_check();
  broadcast(now, changed, out);
  return changed;
}

std::vector<Entry> Nameserver::container_died(TimePoint now, std::string_view container, mesh::GossipSender* out) {
  std::vector<Entry> changed;
  const auto now_unix = wall(now);
  for (auto& [k, e] : table_) {
    if (e.origin == self_ && e.container_id == container && tombstone_entry(e, now_unix)) {
      log_.info("container {} died; tombstoning entry {} -> {}", container, e.hostname, e.addr);
      changed.push_back(e);
    }
  }
  debug_check();
  broadcast(now, changed, out);
  return changed;
}

void Nameserver::peer_gone(PeerName peer) {
  // Logged only when it held entries: gossip can make thousands of peers vanish at once.
  auto removed = std::erase_if(table_, [&](const auto& kv) { return kv.second.origin == peer; });
  if (removed > 0) {
    log_.info("peer {} gone: removed its {} entries", peer, removed);
  } else {
    log_.debug("peer {} gone", peer);
  }
  debug_check();
}

// ---- timers

TimePoint Nameserver::on_tick(TimePoint now) {
  if (!next_sweep_) next_sweep_ = now + kTombstoneSweepInterval;
  if (now >= *next_sweep_) {
    gc_tombstones(wall(now));
    next_sweep_ = now + kTombstoneSweepInterval;
  }
  return *next_sweep_;
}

std::size_t Nameserver::gc_tombstones(std::int64_t now_unix) {
  auto n = std::erase_if(table_, [&](const auto& kv) {
    const auto t = kv.second.tombstone;
    return t != 0 && static_cast<__int128>(now_unix) - t > kTombstoneTimeoutSeconds;
  });
  debug_check();
  return n;
}

// ---- status

std::vector<Entry> Nameserver::entries() const {
  std::vector<Entry> out;
  out.reserve(table_.size());
  for (const auto& [k, e] : table_) out.push_back(e);
  return out;
}

std::size_t Nameserver::live_count() const {
  std::size_t n = 0;
  for (const auto& [k, e] : table_) n += e.live() ? 1 : 0;
  return n;
}

std::size_t Nameserver::own_live_count() const {
  std::size_t n = 0;
  for (const auto& [k, e] : table_) n += (e.live() && e.origin == self_) ? 1 : 0;
  return n;
}

namespace {

/// Go's fmt width counts runes, not bytes: pad by code points so UTF-8 names line up the same.
std::size_t runes(std::string_view s) {
  std::size_t n = 0;
  for (unsigned char c : s) n += (c & 0xC0) != 0x80 ? 1 : 0;
  return n;
}

std::string first_runes(std::string_view s, std::size_t max) {
  std::size_t n = 0, i = 0;
  for (; i < s.size(); ++i) {
    if ((static_cast<unsigned char>(s[i]) & 0xC0) != 0x80) {
      if (n == max) break;
      ++n;
    }
  }
  return std::string(s.substr(0, i));
}

std::string pad_right(std::string_view s, std::size_t w) {
  std::string out(s);
  for (auto n = runes(s); n < w; ++n) out.push_back(' ');
  return out;
}

std::string pad_left(std::string_view s, std::size_t w) {
  std::string out;
  for (auto n = runes(s); n < w; ++n) out.push_back(' ');
  out.append(s);
  return out;
}

/// A JSON string as Go's encoding/json writes it (HTML-safe escaping; invalid UTF-8 -> U+FFFD).
void json_string(std::string& out, std::string_view s) {
  static constexpr char kHex[] = "0123456789abcdef";
  out.push_back('"');
  for (std::size_t i = 0; i < s.size();) {
    auto c = static_cast<unsigned char>(s[i]);
    if (c < 0x80) {
      switch (c) {
        case '"':
          out += "\\\"";
          break;
        case '\\':
          out += "\\\\";
          break;
        case '\n':
          out += "\\n";
          break;
        case '\r':
          out += "\\r";
          break;
        case '\t':
          out += "\\t";
          break;
        default:
          if (c < 0x20 || c == '<' || c == '>' || c == '&') {
            out += "\\u00";
            out.push_back(kHex[c >> 4]);
            out.push_back(kHex[c & 0xF]);
          } else {
            out.push_back(static_cast<char>(c));
          }
      }
      ++i;
      continue;
    }
    // Decode one UTF-8 sequence; anything malformed becomes U+FFFD for that byte.
    std::size_t len = c >= 0xF0 ? 4 : c >= 0xE0 ? 3 : c >= 0xC0 ? 2 : 0;
    std::uint32_t cp = len == 4 ? (c & 0x07) : len == 3 ? (c & 0x0F) : (c & 0x1F);
    bool ok = len != 0 && c < 0xF5 && i + len <= s.size();
    for (std::size_t k = 1; ok && k < len; ++k) {
      auto cc = static_cast<unsigned char>(s[i + k]);
      if ((cc & 0xC0) != 0x80) ok = false;
      cp = (cp << 6) | (cc & 0x3F);
    }
    if (ok) {
      // Reject overlong forms, surrogates and values past U+10FFFF, as Go's utf8 does.
      static constexpr std::uint32_t kMin[] = {0, 0, 0x80, 0x800, 0x10000};
      ok = cp >= kMin[len] && !(cp >= 0xD800 && cp <= 0xDFFF) && cp <= 0x10FFFF;
    }
    if (!ok) {
      out += "\\ufffd";
      ++i;
      continue;
    }
    if (cp == 0x2028 || cp == 0x2029) {
      out += cp == 0x2028 ? "\\u2028" : "\\u2029";
    } else {
      out.append(s.substr(i, len));
    }
    i += len;
  }
  out.push_back('"');
}

}  // namespace

std::string Nameserver::format_status_dns() const {
  std::string out;
  for (const auto& [k, e] : table_) {
    if (!e.live()) continue;
    out += pad_right(trim_domain(e.hostname, domain_), 12);
    out += ' ';
    out += pad_right(e.addr.str(), 15);
    out += ' ';
    out += pad_left(first_runes(e.container_id, 12), 12);
    out += ' ';
    out += e.origin.str();
    out += '\n';
  }
  return out;
}

std::string Nameserver::entries_json() const {
  if (table_.empty()) return "null\n";
  std::string out = "[";
  bool first = true;
  for (const auto& [k, e] : table_) {
    if (!first) out.push_back(',');
    first = false;
    out += "{\"ContainerID\":";
    json_string(out, e.container_id);
    out += fmt::format(",\"Origin\":{},\"Addr\":\"{}\",\"Hostname\":", e.origin.value(), e.addr.str());
    json_string(out, e.hostname);
    out += fmt::format(",\"Version\":{},\"Tombstone\":{}}}", e.version, e.tombstone);
  }
  out += "]\n";
  return out;
}

Result<void> Nameserver::check_invariants() const {
  for (const auto& [k, e] : table_) {
    if (!(k == key_of(e))) return make_error("nameserver: key of {} does not match the entry", e.hostname);
  }
  // NB: keys are unique by construction (std::map), and a key is the whole identity plus the
  // lower-cased hostname derived from it, so no identity can appear twice.
  return {};
}

void Nameserver::debug_check() const {
#ifndef NDEBUG
  auto r = check_invariants();
  WEFT_CHECK(r.ok(), "nameserver invariant violated: {}", r.ok() ? "" : r.error().message);
#endif
}

}  // namespace weft::dns
