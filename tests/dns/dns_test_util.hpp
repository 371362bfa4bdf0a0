#pragma once
// Helpers shared by the DNS tests: a wall clock derived from steady time, a GossipSender that
// records, and hand-built DNS messages (independent of ldns, so the tests check it too).
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "weft/base/bytes.hpp"
#include "weft/dns/gossip_data.hpp"
#include "weft/dns/nameserver.hpp"
#include "weft/mesh/gossip_channel.hpp"

namespace weft::dns::test {

inline constexpr std::int64_t kEpoch = 1'700'000'000;

/// Unix seconds = kEpoch + whole seconds of steady time since TimePoint{}.
inline std::int64_t wall_of(TimePoint t) {
  return kEpoch + std::chrono::duration_cast<std::chrono::seconds>(t.time_since_epoch()).count();
}
inline TimePoint at(std::int64_t seconds) { return TimePoint{} + std::chrono::seconds(seconds); }

class RecordingSender final : public mesh::GossipSender {
 public:
  void unicast(PeerName, Bytes payload) override { unicasts.push_back(std::move(payload)); }
  void broadcast(Bytes payload) override { broadcasts.push_back(std::move(payload)); }
  void gossip(Bytes payload) override { gossips.push_back(std::move(payload)); }
  /// Decodes broadcast i (asserts it decodes).
  GossipData broadcast_data(std::size_t i) const {
    auto g = decode_gossip_data(broadcasts.at(i));
    return g.ok() ? *g : GossipData{};
  }
  std::vector<Bytes> unicasts, broadcasts, gossips;
};

/// A hand-built DNS name in wire form ("a.b." -> 01 61 01 62 00).
inline Bytes wire_name(std::string_view name) {
  Bytes out;
  while (!name.empty() && name != ".") {
    auto dot = name.find('.');
    auto label = name.substr(0, dot);
    out.push_back(static_cast<std::uint8_t>(label.size()));
    out.insert(out.end(), label.begin(), label.end());
    name = dot == std::string_view::npos ? std::string_view() : name.substr(dot + 1);
  }
  out.push_back(0);
  return out;
}

/// A query built by hand: header with `qdcount` copies of (name, qtype, IN), optional OPT.
inline Bytes hand_query(std::uint16_t id, std::string_view name, std::uint16_t qtype, int qdcount = 1,
                        int edns_size = -1, std::uint8_t edns_version = 0) {
  Bytes q = {static_cast<std::uint8_t>(id >> 8),
             static_cast<std::uint8_t>(id),
             0x01,
             0x00,
             0,
             static_cast<std::uint8_t>(qdcount),
             0,
             0,
             0,
             0,
             0,
             static_cast<std::uint8_t>(edns_size >= 0 ? 1 : 0)};
  for (int i = 0; i < qdcount; ++i) {
    auto n = wire_name(name);
    q.insert(q.end(), n.begin(), n.end());
    q.push_back(static_cast<std::uint8_t>(qtype >> 8));
    q.push_back(static_cast<std::uint8_t>(qtype));
    q.push_back(0);
    q.push_back(1);
  }
  if (edns_size >= 0) {
    Bytes opt = {
        0, 0, 41, static_cast<std::uint8_t>(edns_size >> 8), static_cast<std::uint8_t>(edns_size), 0, edns_version, 0,
        0, 0, 0};
    q.insert(q.end(), opt.begin(), opt.end());
  }
  return q;
}

/// Appends one compressed (name pointer to the question) A record per address, TTL 60.
inline void append_a_records(Bytes& msg, const std::vector<std::uint32_t>& addrs) {
  for (auto a : addrs) {
    Bytes rr = {0xC0, 0x0C, 0, 1, 0, 1, 0, 0, 0, 60, 0, 4,
                static_cast<std::uint8_t>(a >> 24), static_cast<std::uint8_t>(a >> 16),
                static_cast<std::uint8_t>(a >> 8), static_cast<std::uint8_t>(a)};
    msg.insert(msg.end(), rr.begin(), rr.end());
  }
}

/// Turns a one-question query (no OPT) into a reply carrying `addrs` as A records.
inline Bytes hand_reply(Bytes query, const std::vector<std::uint32_t>& addrs, std::uint8_t rcode = 0) {
  query[2] |= 0x80;
  query[3] = static_cast<std::uint8_t>(0x80 | rcode);
  query[6] = static_cast<std::uint8_t>(addrs.size() >> 8);
  query[7] = static_cast<std::uint8_t>(addrs.size());
  append_a_records(query, addrs);
  return query;
}

}  // namespace weft::dns::test
