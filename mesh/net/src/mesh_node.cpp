#include "weft/mesh_net/mesh_node.hpp"

#include "weft/mesh/topology_sync.hpp"

#include <fcntl.h>
#include <sys/resource.h>
#include <unistd.h>

#include <algorithm>
#include <cctype>
#include <cerrno>

#include "weft/base/log_safe.hpp"

namespace weft::mesh_net {
namespace {

/// True while at least kFdHeadroom descriptors are free below the soft RLIMIT_NOFILE. The lowest
/// free descriptor number is a cheap lower bound of how many are open (the kernel hands out the
/// lowest free one).
bool fd_headroom(int headroom) {
  rlimit rl{};
  if (::getrlimit(RLIMIT_NOFILE, &rl) != 0 || rl.rlim_cur == RLIM_INFINITY) return true;
  int fd = ::fcntl(0, F_DUPFD_CLOEXEC, 0);
  if (fd < 0) return errno == EBADF;  // fd 0 closed: then 0 is free
  ::close(fd);
  return static_cast<rlim_t>(fd) + static_cast<rlim_t>(headroom) < rl.rlim_cur;
}

}  // namespace

MeshNode::MeshNode(asio::io_context& io, NodeConfig config, Random& rng, Logger log)
    : io_(io),
      config_(std::move(config)),
      rng_(rng),
      log_(std::move(log)),
      core_(mesh::MeshConfig{config_.self, config_.conn_limit, config_.weft_gossip}, rng, log_.child("mesh")),
      maker_(config_.port, config_.discovery, rng),
      tick_timer_(io),
      maker_timer_(io),
      accept_timer_(io) {}

MeshNode::~MeshNode() { stop(); }

Result<void> MeshNode::listen() {
  boost::system::error_code ec;
  auto addr = config_.host.empty() ? asio::ip::address(asio::ip::address_v4::any())
                                   : asio::ip::make_address(config_.host, ec);
  auto where = fmt::format("{}:{}", config_.host.empty() ? "0.0.0.0" : config_.host, config_.port);
  if (ec) return make_error("listen tcp {}: invalid host", where);
  tcp::endpoint ep(addr, config_.port);
  tcp::acceptor a(io_);
  a.open(ep.protocol(), ec);
  if (!ec) a.set_option(asio::socket_base::reuse_address(true), ec);
  if (!ec) a.bind(ep, ec);
  if (ec) {
    auto msg = ec.message();  // Go's wording is lower-case ("address already in use")
    if (!msg.empty()) msg[0] = static_cast<char>(std::tolower(static_cast<unsigned char>(msg[0])));
    return make_error("listen tcp {}: bind: {}", where, msg);
  }
  a.listen(asio::socket_base::max_listen_connections, ec);
  if (ec) return make_error("listen tcp {}: {}", where, ec.message());
  bound_port_ = a.local_endpoint().port();
  acceptor_.emplace(std::move(a));
  return {};
}

void MeshNode::start() {
  if (acceptor_) accept();
  rearm_tick();
  refresh_targets();
}

void MeshNode::stop() {
  if (stopped_) return;
  stopped_ = true;
  boost::system::error_code ec;
  if (acceptor_) acceptor_->close(ec);
  tick_timer_.cancel();
  maker_timer_.cancel();
  accept_timer_.cancel();
  auto conns = conns_;
  for (auto& [id, c] : conns) c->close("router shutting down");
}

void MeshNode::accept() {
  // Token bucket: at most kAcceptBurst at once, one more per kAcceptRefill.
  auto now = Clock::now();
  if (accept_refilled_ == TimePoint{}) accept_refilled_ = now;
  auto earned = static_cast<int>((now - accept_refilled_) / kAcceptRefill);
  if (earned > 0) {
    accept_tokens_ = std::min(kAcceptBurst, accept_tokens_ + earned);
    accept_refilled_ += earned * kAcceptRefill;
  }
  if (accept_tokens_ == 0) {
    accept_timer_.expires_after(kAcceptRefill);
    accept_timer_.async_wait([this](const boost::system::error_code& ec) {
      if (!ec && !stopped_) accept();
    });
    return;
  }
  acceptor_->async_accept([this](const boost::system::error_code& ec, tcp::socket s) {
    if (stopped_) return;
    if (!ec) {
      boost::system::error_code e2;
      auto rep = s.remote_endpoint(e2);
      if (!e2) {
        auto ip = rep.address().to_string();
        // Refusals cost no token: a flood from one source must not slow other peers' accepts.
        if (admit_pending(ip)) {
          --accept_tokens_;
          add_connection(std::move(s), false, fmt::format("{}:{}", ip, rep.port()), true);
        } else {
          ++refused_pending_;
          auto now = Clock::now();
          if (now - refusal_logged_ >= std::chrono::seconds(10)) {
            refusal_logged_ = now;
            log_.warn("refusing connections before their handshake (too many pending, last from {}); {} refused so far",
                      log_safe(ip), refused_pending_);
          }
          s.close(e2);
        }
      }
    } else if (ec == asio::error::operation_aborted) {
      return;
    } else {
      // Out of descriptors (EMFILE) or similar: wait before accepting again instead of spinning.
      auto now = Clock::now();
      if (now - refusal_logged_ >= std::chrono::seconds(10)) {
        refusal_logged_ = now;
        log_.warn("accept: {}", ec.message());
      }
      accept_tokens_ = 0;
      accept_refilled_ = now + std::chrono::milliseconds(200);
    }
    accept();
  });
}

bool MeshNode::is_known_ip(const std::string& ip) const {
  for (auto& [id, c] : core_.connections()) {
    if (c.info.remote_ip == ip) return true;
  }
  for (auto& d : maker_.direct_peers()) {
    if (auto a = mesh::PeerAddress::parse(d); a && a->host == ip) return true;
  }
  for (auto& [addr, t] : maker_.targets()) {
    if (auto a = mesh::PeerAddress::parse(addr); a && a->host == ip) return true;
  }
  return false;
}

bool MeshNode::admit_pending(const std::string& ip) const {
  if (!fd_headroom(kFdHeadroom)) return false;
  std::size_t pending = 0, from_ip = 0;
  for (auto& [id, c] : conns_) {
    if (c->params().outbound || core_.connections().count(id)) continue;
    ++pending;
    if (c->remote_ip() == ip) ++from_ip;
  }
  if (from_ip >= kMaxPendingPerSource) return false;
  if (pending < kMaxPendingHandshakes) return true;
  return pending < kMaxPendingHandshakes + kKnownPeerReserve && is_known_ip(ip);
}

bool MeshNode::is_trusted(const std::string& ip) const {
  auto a = Ipv4::parse(ip);
  return a && any_contains(config_.trusted_subnets, *a);
}

void MeshNode::add_connection(tcp::socket s, bool outbound, std::string target, bool accept_new_peer) {
  ConnectionParams p;
  p.outbound = outbound;
  p.target = std::move(target);
  p.accept_new_peer = accept_new_peer;
  p.password = config_.password;
  p.features.name = config_.self.name;
  p.features.nickname = config_.self.nickname;
  p.features.uid = config_.self.uid;
  p.features.short_id = core_.topology().self().has_short_id ? *ShortID::from_uint(core_.topology().self().short_id)
                                                              : ShortID{};
  p.features.overlays = config_.overlays;
  p.features.weft_overlay = config_.weft_overlay;
  if (config_.weft_gossip) p.features.weft_gossip = std::string(mesh::kWeftGossipVersion);
  boost::system::error_code ec;
  auto rep = s.remote_endpoint(ec);
  p.features.trusted = !ec && is_trusted(rep.address().to_string());
  auto id = next_id_++;
  auto c = std::make_shared<TcpConnection>(std::move(s), std::move(p), id, *this, rng_, log_.child("conn"));
  conns_[id] = c;
  c->start();
}

void MeshNode::log_lines(const std::vector<std::string>& lines) {
  for (auto& l : lines) log_.info("{}", l);
}

void MeshNode::dial_failed(const std::string& address, std::string error) {
  auto now = Clock::now();
  log_lines(dial_log_.failed(now, address, error));
  maker_.on_dial_failed(now, address, std::move(error));
}

void MeshNode::dial(const mesh::ConnectionMaker::Dial& d) {
  log_lines(dial_log_.attempt(Clock::now(), d.address));
  auto addr = mesh::PeerAddress::parse(d.address);
  if (!addr) {
    dial_failed(d.address, addr.error().message);
    return;
  }
  auto port = static_cast<std::uint16_t>(addr->port ? addr->port : config_.port);
  boost::system::error_code ec;
  auto ip = asio::ip::make_address(addr->host, ec);
  if (!ec) {  // a numeric address (all that gossip carries): no resolver
    (void)connect_to(d, tcp::endpoint(ip, port));
    return;
  }
  auto resolver = std::make_shared<tcp::resolver>(io_);
  resolver->async_resolve(
      addr->host, std::to_string(port),
      [this, resolver, d](const boost::system::error_code& ec, tcp::resolver::results_type res) {
        if (stopped_) return;
        if (ec || res.empty()) {
          dial_failed(d.address, fmt::format("dial tcp: lookup {}: {}", d.address, ec ? ec.message() : "no addresses"));
          refresh_targets();
          return;
        }
        tcp::endpoint ep = res.begin()->endpoint();
        for (auto& e : res) {
          if (e.endpoint().address().is_v4()) {
            ep = e.endpoint();
            break;
          }
        }
        if (!connect_to(d, ep)) refresh_targets();
      });
}

bool MeshNode::connect_to(const mesh::ConnectionMaker::Dial& d, const tcp::endpoint& ep) {
  // Open the socket here (not inside a ranged async_connect) so that running out of descriptors
  // is an ordinary dial failure, and keep headroom for DNS, HTTP and inbound peers.
  // NB: called from refresh_targets(), which re-arms the maker's timer after its dials.
  auto fail = [this, &d](const std::string& why) {
    dial_failed(d.address, fmt::format("dial tcp {}: {}", d.address, why));
    return false;
  };
  if (!fd_headroom(kFdHeadroom)) return fail("skipped: too few free file descriptors");
  auto sock = std::make_shared<tcp::socket>(io_);
  boost::system::error_code ec;
  sock->open(ep.protocol(), ec);
  if (ec) return fail("socket: " + ec.message());
  auto timer = std::make_shared<asio::steady_timer>(io_);
  timer->expires_after(std::chrono::seconds(10));
  timer->async_wait([sock](const boost::system::error_code& e) {
    if (!e) {
      boost::system::error_code ignore;
      sock->close(ignore);
    }
  });
  sock->async_connect(ep, [this, sock, timer, d](const boost::system::error_code& e) {
    timer->cancel();
    if (stopped_) return;
    if (e) {
      dial_failed(d.address, fmt::format("dial tcp {}: connect: {}", d.address,
                                         e == asio::error::operation_aborted ? "i/o timeout" : e.message()));
      refresh_targets();
      return;
    }
    add_connection(std::move(*sock), true, d.address, d.accept_new_peer);
  });
  return true;
}

Result<void> MeshNode::on_handshake_done(TcpConnection& c, const mesh::HandshakeResult& hs,
                                         const mesh::RemoteFeatures& remote) {
  mesh::ConnectionInfo info;
  info.remote = remote;
  info.outbound = c.params().outbound;
  info.remote_tcp_addr = c.params().target;
  info.conn_uid = mesh::connection_uid(c.params().features.conn_id, remote.conn_id);
  info.encrypted = hs.session_key.has_value();
  info.accept_new_peer = c.params().accept_new_peer;
  info.trusted_by_us = c.params().features.trusted;
  info.remote_ip = c.remote_ip();
  info.remote_port = c.remote_port();
  mesh::Effects fx;
  auto now = Clock::now();
  auto refused = core_.add_connection(now, c.id(), info, fx);
  if (refused) {
    if (info.outbound) {
      if (refused->kind == mesh::RefuseKind::ourself || refused->kind == mesh::RefuseKind::name_collision) {
        maker_.never_retry(c.params().target);
      }
    }
    apply(fx);
    return Error{refused->message};
  }
  joined_at_[c.id()] = now;
  if (info.outbound) {
    maker_.on_connected(c.params().target);
    dial_log_.connected(c.params().target);
  }
  bool established = true;
  if (hooks_.on_connection_added) established = hooks_.on_connection_added(core_.connections().at(c.id()), hs);
  if (established) core_.connection_established(now, c.id(), fx);
  apply(fx);
  return {};
}

void MeshNode::connection_established(mesh::ConnId id) {
  with_effects([&](mesh::Effects& fx) { core_.connection_established(Clock::now(), id, fx); });
}

void MeshNode::send_overlay(mesh::ConnId id, mesh::ProtocolTag tag, ByteSpan payload) {
  if (auto it = conns_.find(id); it != conns_.end()) it->second->send(tag, payload);
}

namespace {
bool is_gossip(mesh::ProtocolTag t) {
  return t == mesh::ProtocolTag::gossip || t == mesh::ProtocolTag::gossip_unicast ||
         t == mesh::ProtocolTag::gossip_broadcast;
}
}  // namespace

void MeshNode::on_message(TcpConnection& c, const mesh::ProtocolMessage& m) {
  if (is_gossip(m.tag)) gossip_received_ += m.payload.size() + 1;
  with_effects([&](mesh::Effects& fx) { core_.on_message(Clock::now(), c.id(), m, fx); });
}

void MeshNode::on_closed(TcpConnection& c, const std::string& reason) {
  auto id = c.id();
  auto keep = conns_[id];  // keep alive until we return
  conns_.erase(id);
  auto now = Clock::now();
  bool joined = core_.connections().count(id) > 0;
  PeerName remote = joined ? core_.connections().at(id).info.remote.name : PeerName{};
  if (joined || joined_at_.count(id)) {
    log_.info("->[{}|{}]: connection shutting down due to error: {}", c.params().target, remote, reason);
  } else if (std::uint64_t dropped = 0;
             handshake_log_.allow(c.params().target.substr(0, c.params().target.rfind(':')), now, &dropped)) {
    // Handshake failures come from anyone who can reach the port: a few lines per source and
    // minute, then a count (issue 18, item 7).
    log_.info("->[{}]: connection shutting down due to error during handshake: {}{}", c.params().target,
              log_safe(reason, 512), dropped ? fmt::format(" ({} similar lines from this address suppressed)", dropped) : "");
  }
  if (c.params().outbound) {
    if (auto it = joined_at_.find(id); it != joined_at_.end()) {
      maker_.on_terminated(now, c.params().target, it->second, reason);
    } else {
      dial_failed(c.params().target, reason);
    }
  }
  joined_at_.erase(id);
  if (joined) maker_.invalidate();
  // NB: the hook runs from apply(), for what the core reports removed: a connection the core
  // already dropped (the loser of a tie-break) was released then, and is not released twice.
  with_effects([&](mesh::Effects& fx) { core_.remove_connection(now, id, fx); });
  refresh_targets();
}

void MeshNode::with_effects(const std::function<void(mesh::Effects&)>& f) {
  mesh::Effects fx;
  f(fx);
  apply(fx);
}

void MeshNode::apply(mesh::Effects& fx) {
  // NB: closing a connection re-enters with_effects(); take everything out of fx first.
  auto sends = std::move(fx.sends);
  auto closes = std::move(fx.closes);
  auto gone = std::move(fx.peers_gone);
  auto removed = std::move(fx.removed);
  auto overlay = std::move(fx.overlay);
  bool changed = fx.topology_changed;
  fx = {};
  for (auto& s : sends) {
    if (auto it = conns_.find(s.conn); it != conns_.end()) {
      if (is_gossip(s.tag)) gossip_sent_ += s.payload.size() + 1;
      it->second->send(s.tag, s.payload);
    }
  }
  for (auto& [id, peer] : removed) {
    if (hooks_.on_connection_removed) hooks_.on_connection_removed(id, peer);
  }
  for (auto& o : overlay) {
    if (hooks_.on_overlay_message) hooks_.on_overlay_message(o);
  }
  if (!gone.empty()) {
    if (hooks_.on_peers_gone) hooks_.on_peers_gone(gone);
    for (auto& f : peers_gone_listeners_) f(gone);
  }
  if (changed) {
    maker_.invalidate();
    if (hooks_.on_topology_changed) hooks_.on_topology_changed();
    for (auto& f : topology_listeners_) f();
    if (!refresh_posted_) {
      refresh_posted_ = true;
      asio::post(io_, [this] {
        refresh_posted_ = false;
        if (!stopped_) refresh_targets();
      });
    }
  }
  for (auto& [id, why] : closes) {
    if (auto it = conns_.find(id); it != conns_.end()) it->second->close(why);
  }
  rearm_tick();
}

void MeshNode::rearm_tick() {
  if (stopped_) return;
  // NB: every message ends here; re-arming costs a timerfd_settime, so only when the deadline moved.
  auto when = core_.next_wake();
  if (tick_armed_ && *tick_armed_ == when) return;
  tick_armed_ = when;
  ++tick_arms_;
  tick_timer_.expires_at(when);
  tick_timer_.async_wait([this](const boost::system::error_code& ec) {
    if (ec || stopped_) return;
    tick_armed_.reset();
    mesh::Effects fx;
    core_.on_tick(Clock::now(), fx);
    apply(fx);
  });
}

void MeshNode::refresh_targets() {
  if (stopped_) return;
  auto dials = maker_.refresh(Clock::now(), core_.topology(), core_.connections());
  for (auto& d : dials) dial(d);
  maker_timer_.cancel();
  if (auto w = maker_.next_wake()) {
    maker_timer_.expires_at(*w);
    maker_timer_.async_wait([this](const boost::system::error_code& ec) {
      if (!ec && !stopped_) refresh_targets();
    });
  }
}

std::vector<std::string> MeshNode::connect(const std::vector<std::string>& peers, bool replace) {
  auto errors = maker_.initiate(peers, replace);
  refresh_targets();
  return errors;
}

void MeshNode::forget(const std::vector<std::string>& peers) {
  maker_.forget(peers);
  refresh_targets();
}

void MeshNode::close_connection(mesh::ConnId id, const std::string& reason) {
  if (auto it = conns_.find(id); it != conns_.end()) it->second->close(reason);
}

std::vector<std::string> MeshNode::handshaking() const {
  std::vector<std::string> out;
  for (auto& [id, c] : conns_) {
    if (!core_.connections().count(id)) out.push_back(c->params().target);
  }
  return out;
}

}  // namespace weft::mesh_net
