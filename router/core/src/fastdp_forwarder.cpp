#include "weft/router/fastdp_forwarder.hpp"

#include <algorithm>

namespace weft::router {

Duration FastdpForwarders::interval(const Fwd& f) const {
  return f.established && f.healthy ? kSlowHeartbeat : (f.healthy ? kFastHeartbeat : kSlowHeartbeat);
}

void FastdpForwarders::heartbeat(Fwd& f, FastdpEffects& fx) {
  if (!f.c.remote_addr) return;
  fx.sends.push_back({*f.c.remote_addr, f.c.remote, make_fastdp_heartbeat(f.c.conn_uid, mtu_)});
}

void FastdpForwarders::add_connection(TimePoint now, const FastdpConnection& c, FastdpEffects& fx) {
  remove_connection(c.conn);
  Fwd f;
  f.c = c;
  f.last_rx = now;
  f.next_hb = now + kFastHeartbeat;
  auto [it, _] = fwds_.emplace(c.conn, std::move(f));
  by_peer_[c.remote] = c.conn;
  heartbeat(it->second, fx);
  ++generation_;
}

void FastdpForwarders::remove_connection(mesh::ConnId conn) {
  auto it = fwds_.find(conn);
  if (it == fwds_.end()) return;
  auto p = by_peer_.find(it->second.c.remote);
  if (p != by_peer_.end() && p->second == conn) by_peer_.erase(p);
  fwds_.erase(it);
  ++generation_;
}

void FastdpForwarders::on_control(TimePoint now, mesh::ConnId conn, std::span<const std::uint8_t> payload,
                                  FastdpEffects& fx) {
  auto it = fwds_.find(conn);
  if (it == fwds_.end() || payload.size() < 2 || payload[0] != it->second.c.index) return;
  auto& f = it->second;
  switch (payload[1]) {
    case kFastdpSubHeartbeatAck:
      if (f.established) return;
      f.established = true;
      f.next_hb = now + interval(f);
      fx.established.push_back(conn);
      ++generation_;
      return;
    default: return;  // CryptoInitSARemote: we never offer encrypted fastdp
  }
}

Result<void> FastdpForwarders::on_heartbeat(TimePoint now, PeerName src, Ipv4 from_ip,
                                            std::span<const std::uint8_t> frame, FastdpEffects& fx) {
  auto p = by_peer_.find(src);
  if (p == by_peer_.end()) return make_error("heartbeat from {}, which has no fastdp connection", src);
  auto& f = fwds_.at(p->second);
  WEFT_TRY(uid, parse_fastdp_heartbeat(frame));
  if (uid != f.c.conn_uid) return make_error("heartbeat from {} for another connection", src);
  const bool addr_was_unknown = !f.c.remote_addr;
  if (!f.c.remote_addr || f.c.remote_addr->ip != from_ip) {
    const auto port = f.c.remote_addr ? f.c.remote_addr->port : vxlan_port_;
    f.c.remote_addr = datapath::UdpEndpoint{from_ip, port};
    ++generation_;
  }
  f.last_rx = now;
  if (!f.healthy) {
    f.healthy = true;
    ++generation_;
  }
  if (!f.heard) {
    f.heard = true;
    fx.controls.push_back({f.c.conn, Bytes{f.c.index, kFastdpSubHeartbeatAck}});
  }
  if (addr_was_unknown) {
    heartbeat(f, fx);
    f.next_hb = now + interval(f);
  }
  return {};
}

TimePoint FastdpForwarders::on_tick(TimePoint now, FastdpEffects& fx) {
  TimePoint next = now + kSlowHeartbeat;
  for (auto& [id, f] : fwds_) {
    if (f.healthy && now - f.last_rx >= kHeartbeatTimeout) {
      f.healthy = false;  // the overlay switch stops using it; a later heartbeat revives it
      ++generation_;
    }
    if (now >= f.next_hb) {
      heartbeat(f, fx);
      f.next_hb = now + interval(f);
    }
    next = std::min(next, f.next_hb);
    if (f.healthy) next = std::min(next, f.last_rx + kHeartbeatTimeout);
  }
  return next;
}

std::optional<datapath::UdpEndpoint> FastdpForwarders::usable(PeerName peer) const {
  auto p = by_peer_.find(peer);
  if (p == by_peer_.end()) return std::nullopt;
  const auto& f = fwds_.at(p->second);
  if (!f.established || !f.healthy) return std::nullopt;
  return f.c.remote_addr;
}

std::optional<PeerName> FastdpForwarders::neighbour_at(Ipv4 ip) const {
  for (const auto& [id, f] : fwds_) {
    if (f.c.remote_addr && f.c.remote_addr->ip == ip) return f.c.remote;
  }
  return std::nullopt;
}

std::vector<FastdpForwarders::Status> FastdpForwarders::status() const {
  std::vector<Status> out;
  for (auto& [id, f] : fwds_) out.push_back({id, f.c.remote, f.established, f.healthy, f.c.remote_addr});
  return out;
}

std::optional<FastdpForwarders::Status> FastdpForwarders::status_of(mesh::ConnId conn) const {
  auto it = fwds_.find(conn);
  if (it == fwds_.end()) return std::nullopt;
  const auto& f = it->second;
  return Status{conn, f.c.remote, f.established, f.healthy, f.c.remote_addr};
}

}  // namespace weft::router
