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
  dirty_ = true;
  return errors;
}

void ConnectionMaker::forget(std::span<const std::string> peers) {
  for (auto& p : peers) {
    auto a = PeerAddress::parse(p);
    if (a) direct_.erase(*a);
  }
  next_wake_ = TimePoint{};
  dirty_ = true;
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

void ConnectionMaker::recompute(TimePoint now, const Topology& topology,
                                const std::map<ConnId, MeshCore::LocalConn>& conns) {
  dirty_ = false;
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
  valid_.clear();
  direct_addrs_.clear();
  auto add_target = [&](const std::string& addr) {
    if (connected_targets.count(addr) || never_.count(addr)) return;
    valid_.insert(addr);
    if (!targets_.count(addr)) targets_[addr] = Target{State::waiting, std::nullopt, now, Duration::zero()};
  };
  for (auto& a : direct_) {
    auto addr = a.with_port(port_);
    direct_addrs_.insert(addr);
    if (a.port == 0 && inbound_ips.count(a.host)) continue;  // already connected from there
    add_target(addr);
  }
  if (discovery_) {
    // Addresses learned from gossip: those already targeted keep their place (and backoff);
    // new ones fill what is left of kMaxDiscoveredTargets, so fake peers cannot grow the table.
    std::set<std::string> fresh;
    std::size_t kept = 0;
    auto consider = [&](std::string addr) {
      if (direct_addrs_.count(addr) || connected_targets.count(addr) || never_.count(addr)) return;
      if (targets_.count(addr)) {
        if (kept < kMaxDiscoveredTargets && valid_.insert(addr).second) ++kept;
      } else if (fresh.size() < kMaxDiscoveredTargets) {
        fresh.insert(std::move(addr));
      }
    };
    for (auto& [name, peer] : topology.peers()) {
      if (name == topology.self_name()) continue;
      for (auto& [other, c] : peer.connections) {
        if (other == topology.self_name() || connected_peers.count(other)) continue;
        if (c.outbound) {
          consider(c.remote_tcp_addr);
        } else if (auto ip = ip_of(c.remote_tcp_addr); !ip.empty()) {
          consider(PeerAddress{ip, port_}.with_port(port_));
        }
      }
    }
    for (auto& addr : fresh) {
      if (kept >= kMaxDiscoveredTargets) break;
      ++kept;
      add_target(addr);
    }
  }
  for (auto it = targets_.begin(); it != targets_.end();) {
    auto& [addr, t] = *it;
    if ((t.state == State::waiting || t.state == State::suspended) && !valid_.count(addr)) {
      if (direct_addrs_.count(addr)) {
        t.state = State::suspended;
      } else {
        it = targets_.erase(it);
        continue;
      }
    } else if (t.state == State::suspended && valid_.count(addr)) {
      t.state = State::waiting;
    }
    ++it;
  }
}

std::vector<ConnectionMaker::Dial> ConnectionMaker::refresh(TimePoint now, const Topology& topology,
                                                            const std::map<ConnId, MeshCore::LocalConn>& conns) {
  if (dirty_) recompute(now, topology, conns);
  // The dial budget: a token bucket of kDialBurst, one token per kDialRefill.
  if (tokens_at_ == TimePoint{} || now < tokens_at_) tokens_at_ = now;
  if (auto earned = (now - tokens_at_) / kDialRefill; earned > 0) {
    dial_tokens_ = static_cast<int>(std::min<std::int64_t>(kDialBurst, dial_tokens_ + earned));
    tokens_at_ += earned * kDialRefill;
  }
  std::size_t attempting = 0;
  for (auto& [addr, t] : targets_) attempting += t.state == State::attempting;
  std::vector<Dial> dials;
  next_wake_.reset();
  auto wake = [&](TimePoint t) {
    if (!next_wake_ || t < *next_wake_) next_wake_ = t;
  };
  // Direct peers first, then discovered ones.
  for (int pass = 0; pass < 2; ++pass) {
    for (auto& [addr, t] : targets_) {
      bool direct = direct_addrs_.count(addr) > 0;
      if ((pass == 0) != direct || t.state != State::waiting || !valid_.count(addr)) continue;
      if (t.try_after > now) {
        wake(t.try_after);
      } else if (dial_tokens_ > 0 && attempting < kMaxAttempting) {
        --dial_tokens_;
        ++attempting;
        t.state = State::attempting;
        dials.push_back(Dial{addr, direct});
      } else {
        wake(dial_tokens_ > 0 ? now + kDialRefill : tokens_at_ + kDialRefill);
      }
    }
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
  dirty_ = true;
  auto it = targets_.find(address);
  if (it == targets_.end()) return;
  it->second.state = State::connected;
  it->second.last_error.reset();
}

void ConnectionMaker::on_terminated(TimePoint now, const std::string& address, TimePoint connected_at, std::string error) {
  dirty_ = true;
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
  dirty_ = true;
  never_.insert(address);
  targets_.erase(address);
}

}  // namespace weft::mesh
