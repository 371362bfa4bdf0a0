#include "weft/mesh/connection_maker.hpp"

#include <charconv>

namespace weft::mesh {

Result<PeerAddress> PeerAddress::parse(std::string_view s) {
  PeerAddress a;
  if (s.empty()) return make_error("address : missing address");
  if (s.front() == '[') {
    auto close = s.find(']');
    if (close == std::string_view::npos) return make_error("address {}: missing ']' in address", s);
    a.host = std::string(s.substr(1, close - 1));
    auto rest = s.substr(close + 1);
    if (rest.empty()) return a;
    if (rest.front() != ':') return make_error("address {}: unexpected character after ']'", s);
    s = rest.substr(1);
  } else {
    auto colon = s.find(':');
    if (colon == std::string_view::npos) {
      a.host = std::string(s);
      return a;
    }
    if (s.find(':', colon + 1) != std::string_view::npos) return make_error("address {}: too many colons in address", s);
    a.host = std::string(s.substr(0, colon));
    s = s.substr(colon + 1);
  }
  unsigned v = 0;
  auto [p, ec] = std::from_chars(s.data(), s.data() + s.size(), v);
  if (s.empty() || ec != std::errc() || p != s.data() + s.size() || v > 65535 || v == 0) {
    return make_error("address {}: invalid port", s);
  }
  a.port = static_cast<std::uint16_t>(v);
  if (a.host.empty()) return make_error("address :{}: missing host", v);
  return a;
}

std::string PeerAddress::with_port(std::uint16_t dflt) const {
  auto p = port ? port : dflt;
  if (host.find(':') != std::string::npos) return fmt::format("[{}]:{}", host, p);
  return fmt::format("{}:{}", host, p);
}

ConnectionMaker::ConnectionMaker(std::uint16_t our_port, bool discovery, Random& rng)
    : port_(our_port), discovery_(discovery), rng_(rng) {}

std::vector<std::string> ConnectionMaker::initiate(std::span<const std::string> peers, bool replace) {
  std::vector<std::string> errors;
  if (replace) direct_.clear();
  for (auto& p : peers) {
    auto a = PeerAddress::parse(p);
    if (!a) {
      errors.push_back(a.error().message);
      continue;
    }
    direct_.insert(*a);
  }
  next_wake_ = TimePoint{};  // refresh now
  return errors;
}

void ConnectionMaker::forget(std::span<const std::string> peers) {
  for (auto& p : peers) {
    auto a = PeerAddress::parse(p);
    if (a) direct_.erase(*a);
  }
  next_wake_ = TimePoint{};
}

std::vector<std::string> ConnectionMaker::direct_peers() const {
  std::vector<std::string> out;
  for (auto& a : direct_) out.push_back(a.port ? a.with_port(a.port) : a.host);
  return out;
}

void ConnectionMaker::backoff(TimePoint now, Target& t) {
  if (t.try_interval == Duration::zero()) {
    t.try_interval = kInitialInterval;
  } else {
    t.try_interval = std::min<Duration>(t.try_interval * 3 / 2, kMaxInterval);
  }
  auto jitter = Duration(static_cast<Duration::rep>(rng_.uniform(static_cast<std::uint64_t>(t.try_interval.count()))));
  t.try_after = now + t.try_interval / 2 + jitter;
}

namespace {
std::string ip_of(const std::string& hostport) {
  auto a = PeerAddress::parse(hostport);
  return a ? a->host : std::string{};
}
}  // namespace

std::vector<ConnectionMaker::Dial> ConnectionMaker::refresh(TimePoint now, const Topology& topology,
                                                            const std::map<ConnId, MeshCore::LocalConn>& conns) {
  std::set<PeerName> connected_peers;
  std::set<std::string> connected_targets, inbound_ips;
  for (auto& [id, c] : conns) {
    connected_peers.insert(c.info.remote.name);
    if (c.info.outbound) {
      connected_targets.insert(c.info.remote_tcp_addr);
    } else {
      inbound_ips.insert(ip_of(c.info.remote_tcp_addr));
    }
  }
  std::set<std::string> valid, direct;
  auto add_target = [&](const std::string& addr) {
    if (connected_targets.count(addr) || never_.count(addr)) return;
    valid.insert(addr);
    if (!targets_.count(addr)) targets_[addr] = Target{State::waiting, std::nullopt, now, Duration::zero()};
  };
  for (auto& a : direct_) {
    auto addr = a.with_port(port_);
    direct.insert(addr);
    if (a.port == 0 && inbound_ips.count(a.host)) continue;  // already connected from there
    add_target(addr);
  }
  if (discovery_) {
    for (auto& [name, peer] : topology.peers()) {
      if (name == topology.self_name()) continue;
      for (auto& [other, c] : peer.connections) {
        if (other == topology.self_name() || connected_peers.count(other)) continue;
        if (c.outbound) {
          add_target(c.remote_tcp_addr);
        } else if (auto ip = ip_of(c.remote_tcp_addr); !ip.empty()) {
          add_target(PeerAddress{ip, port_}.with_port(port_));
        }
      }
    }
  }
  std::vector<Dial> dials;
  next_wake_.reset();
  for (auto it = targets_.begin(); it != targets_.end();) {
    auto& [addr, t] = *it;
    if (t.state != State::waiting && t.state != State::suspended) {
      ++it;
      continue;
    }
    if (!valid.count(addr)) {
      if (direct.count(addr)) {
        t.state = State::suspended;
        ++it;
      } else {
        it = targets_.erase(it);
      }
      continue;
    }
    if (t.try_after <= now) {
      t.state = State::attempting;
      dials.push_back(Dial{addr, direct.count(addr) > 0});
    } else if (!next_wake_ || t.try_after < *next_wake_) {
      next_wake_ = t.try_after;
    }
    ++it;
  }
  return dials;
}

void ConnectionMaker::on_dial_failed(TimePoint now, const std::string& address, std::string error) {
  auto it = targets_.find(address);
  if (it == targets_.end()) return;
  it->second.state = State::waiting;
  it->second.last_error = std::move(error);
  backoff(now, it->second);
  if (!next_wake_ || it->second.try_after < *next_wake_) next_wake_ = it->second.try_after;
}

void ConnectionMaker::on_connected(const std::string& address) {
  auto it = targets_.find(address);
  if (it == targets_.end()) return;
  it->second.state = State::connected;
  it->second.last_error.reset();
}

void ConnectionMaker::on_terminated(TimePoint now, const std::string& address, TimePoint connected_at, std::string error) {
  auto it = targets_.find(address);
  if (it == targets_.end()) {
    next_wake_ = now;
    return;
  }
  auto& t = it->second;
  t.state = State::waiting;
  t.last_error = std::move(error);
  if (now - connected_at >= kResetAfter) {
    t.try_interval = Duration::zero();
    t.try_after = now;
  } else {
    backoff(now, t);
  }
  next_wake_ = now;
}

void ConnectionMaker::never_retry(const std::string& address) {
  never_.insert(address);
  targets_.erase(address);
}

}  // namespace weft::mesh
