#include "weft/router_net/fastdp_shell.hpp"

#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <set>

#include "weft/datapath/icmp.hpp"
#include "weft/datapath/ipv4_header.hpp"

namespace weft::router_net {
namespace {

constexpr auto kSyncDelay = std::chrono::milliseconds(5);
constexpr auto kSyncInterval = std::chrono::seconds(1);

fdp_flood to_flood(const router::FastdpTables::Flood& f) {
  fdp_flood out{};
  out.flags = f.kernel ? FDP_FLOOD_KERNEL : 0;
  out.n = static_cast<std::uint32_t>(std::min(f.hops.size(), std::size_t{FDP_MAX_FLOOD}));
  for (std::uint32_t i = 0; i < out.n; ++i) {
    out.hops[i].ip = htonl(f.hops[i].ip.value());
    out.hops[i].dst = f.hops[i].dst;
  }
  return out;
}

}  // namespace

FastdpShell::FastdpShell(asio::io_context& io, mesh_net::MeshNode& node,
                         std::unique_ptr<datapath::KernelFastdp> kernel, int mtu, std::uint16_t vxlan_port, Logger log)
    : io_(io),
      node_(node),
      kernel_(std::move(kernel)),
      mtu_(mtu),
      log_(std::move(log)),
      fwds_(mtu, vxlan_port),
      tick_(io),
      sync_timer_(io) {}

FastdpShell::~FastdpShell() { stop(); }

Result<void> FastdpShell::start(const datapath::KernelFastdpAttach& a, const router::MacCache* macs, Deliver deliver,
                                bool direct) {
  macs_ = macs;
  direct_ = direct;
  ports_.clear();
  ports_read_ = {};
  deliver_ = std::move(deliver);
  WEFT_TRY_VOID(kernel_->attach(a));
  sock_ = ::socket(AF_INET, SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
  if (sock_ < 0) return make_error("fastdp socket: {}", std::strerror(errno));
  int one = 1, pmtu = IP_PMTUDISC_DO;
  (void)::setsockopt(sock_, SOL_SOCKET, SO_NO_CHECK, &one, sizeof one);  // UDP checksum 0 (spec §5.1)
  (void)::setsockopt(sock_, IPPROTO_IP, IP_MTU_DISCOVER, &pmtu, sizeof pmtu);  // DF
  stopped_ = false;
  punt_fd_.emplace(io_, ::dup(kernel_->punt_fd()));
  watch_punts();
  rearm_tick();
  sync();
  return {};
}

void FastdpShell::stop() {
  if (stopped_) return;
  stopped_ = true;
  boost::system::error_code ec;
  if (punt_fd_) punt_fd_->close(ec);
  tick_.cancel();
  sync_timer_.cancel();
  kernel_->detach();
  if (sock_ >= 0) ::close(sock_);
  sock_ = -1;
}

void FastdpShell::add_connection(TimePoint now, const router::FastdpConnection& c) {
  router::FastdpEffects fx;
  fwds_.add_connection(now, c, fx);
  apply(fx);
  rearm_tick();
}

void FastdpShell::remove_connection(mesh::ConnId conn) {
  fwds_.remove_connection(conn);
  tables_dirty();
}

void FastdpShell::on_control(TimePoint now, mesh::ConnId conn, std::span<const std::uint8_t> payload) {
  router::FastdpEffects fx;
  fwds_.on_control(now, conn, payload, fx);
  apply(fx);
  rearm_tick();
}

std::optional<std::uint16_t> FastdpShell::short_id_of(PeerName p) const {
  const auto* e = node_.core().topology().find(p);
  if (e == nullptr || !e->has_short_id) return std::nullopt;
  return e->short_id;
}

void FastdpShell::send_vxlan(const datapath::UdpEndpoint& to, std::uint32_t vni, std::span<const std::uint8_t> frame) {
  buf_.clear();
  router::append_vxlan_header(buf_, vni);
  buf_.insert(buf_.end(), frame.begin(), frame.end());
  sockaddr_in sa{};
  sa.sin_family = AF_INET;
  sa.sin_port = htons(to.port);
  sa.sin_addr.s_addr = htonl(to.ip.value());
  if (::sendto(sock_, buf_.data(), buf_.size(), 0, reinterpret_cast<sockaddr*>(&sa), sizeof sa) < 0) {
    stats_.tx_errors++;
  } else {
    stats_.tx_frames++;
  }
}

bool FastdpShell::send(PeerName next_hop, PeerName src, PeerName dst, std::span<const std::uint8_t> frame,
                       std::vector<Bytes>& inject) {
  if (stopped_) return false;
  auto to = fwds_.usable(next_hop);
  if (!to) return false;
  auto s = short_id_of(src);
  auto d = short_id_of(dst);
  if (!s || !d) return false;  // fastdp declines peers without a ShortID (spec §5.3)
  if (frame.size() > static_cast<std::size_t>(mtu_) + 14) {
    auto pkt = datapath::parse_ipv4_frame(frame);
    if (!pkt || !pkt->ip.df) return false;  // the sleeve fragments it
    if (Mac::from_bytes(frame.first(6)).is_broadcast()) return true;
    auto icmp = datapath::make_icmp_frag_needed(datapath::FrameView{frame}, static_cast<std::uint16_t>(mtu_));
    if (!icmp.empty()) {
      stats_.tx_icmp_frag_needed++;
      inject.push_back(std::move(icmp));
    }
    return true;
  }
  send_vxlan(*to, router::fastdp_vni(*ShortID::from_uint(*s), *ShortID::from_uint(*d)), frame);
  return true;
}

void FastdpShell::apply(router::FastdpEffects& fx) {
  auto self = node_.config().self.name;
  for (auto& s : fx.sends) {
    auto a = short_id_of(self);
    auto b = short_id_of(s.dst);
    if (!a || !b) continue;
    send_vxlan(s.to, router::fastdp_vni(*ShortID::from_uint(*a), *ShortID::from_uint(*b)), s.frame);
  }
  for (auto& c : fx.controls) node_.send_overlay(c.conn, mesh::ProtocolTag::overlay_control, c.payload);
  for (auto id : fx.established) {
    log_.info("fastdp established on connection {}", id);
    node_.connection_established(id);
  }
  if (!fx.controls.empty() || !fx.established.empty()) tables_dirty();
}

void FastdpShell::watch_punts() {
  punt_fd_->async_wait(asio::posix::stream_descriptor::wait_read, [this](const boost::system::error_code& ec) {
    if (ec || stopped_) return;
    punt_budget_ = kPuntBudget;
    kernel_->consume([this](const datapath::KernelPunt& p) { on_punt(p); });
    watch_punts();
  });
}

void FastdpShell::on_punt(const datapath::KernelPunt& p) {
  if (punt_budget_ == 0) {
    stats_.rx_punt_shed++;
    return;
  }
  --punt_budget_;
  stats_.rx_punted++;
  auto now = Clock::now();
  auto [s, d] = router::fastdp_peers(p.vni);
  const auto& topo = node_.core().topology();
  auto src = topo.peer_by_short_id(*ShortID::from_uint(s));
  auto dst = topo.peer_by_short_id(*ShortID::from_uint(d));
  if (!src || !dst) {
    stats_.rx_bad++;  // a VNI naming no peer we know: dropped, as Weave does
    return;
  }
  if (router::is_zero_mac_frame(p.frame)) {
    if (*dst != node_.config().self.name) {
      stats_.rx_bad++;
      return;
    }
    router::FastdpEffects fx;
    if (auto r = fwds_.on_heartbeat(now, *src, p.remote, p.frame, fx); !r) {
      stats_.rx_bad++;
      log_.debug("fastdp heartbeat from {} refused: {}", p.remote, r.error().message);
    } else {
      stats_.rx_heartbeats++;
    }
    apply(fx);
    return;
  }
  // What the skb knew (a partial checksum, GRO) travels on as a virtio_net_hdr.
  auto vh = router::punted_frame_header(p.frame, p.gso_size);
  deliver_(now, *src, *dst, p.frame, vh ? &*vh : nullptr, fwds_.neighbour_at(p.remote));
  tables_dirty();
}

void FastdpShell::rearm_tick() {
  if (stopped_) return;
  router::FastdpEffects fx;
  auto next = fwds_.on_tick(Clock::now(), fx);
  apply(fx);
  next = std::min(next, Clock::now() + kSyncInterval);
  tick_.expires_at(next);
  tick_.async_wait([this](const boost::system::error_code& ec) {
    if (ec || stopped_) return;
    sync();
    rearm_tick();
  });
}

void FastdpShell::tables_dirty() {
  if (stopped_ || sync_pending_) return;
  sync_pending_ = true;
  sync_timer_.expires_after(kSyncDelay);
  sync_timer_.async_wait([this](const boost::system::error_code& ec) {
    sync_pending_ = false;
    if (!ec && !stopped_) sync();
  });
}

const std::map<Mac, std::uint32_t>& FastdpShell::direct_ports() {
  auto now = Clock::now();
  if (!direct_ || now - ports_read_ < kSyncInterval) return ports_;
  ports_read_ = now;
  auto p = kernel_->direct_ports();
  if (!p) {
    // Frames then go through the bridge, as they always may: slower, never wrong.
    if (!direct_error_logged_) log_.warn("fastdp: delivering through the bridge only: {}", p.error().message);
    direct_error_logged_ = true;
    ports_.clear();
  } else {
    direct_error_logged_ = false;
    ports_ = std::move(*p);
  }
  stats_.direct_ports = ports_.size();
  std::set<std::uint32_t> sending;
  for (const auto& [mac, port] : ports_) sending.insert(port);
  stats_.sending_ports = kernel_->set_direct_ports(sending);
  return ports_;
}

void FastdpShell::sync() {
  auto& core = node_.core();
  auto self = node_.config().self.name;
  router::FastdpTablesInput in;
  in.self = self;
  in.macs = macs_;
  in.routes = &core.routes();
  for (const auto& [name, p] : core.topology().peers()) {
    if (p.has_short_id) in.short_ids.emplace(name, *ShortID::from_uint(p.short_id));
  }
  in.fast_neighbour = [this](PeerName p) -> std::optional<Ipv4> {
    auto e = fwds_.usable(p);
    return e ? std::optional<Ipv4>(e->ip) : std::nullopt;
  };
  in.direct_ports = &direct_ports();
  if (auto s = short_id_of(self); s && *s != applied_self_) {
    applied_self_ = *s;
    kernel_->set_self_short_id(*s);
  }
  auto want = router::derive_fastdp_tables(in);
  auto d = router::diff_fastdp_tables(applied_, want);
  if (d.empty()) return;
  stats_.table_syncs++;
  bool ok = true;
  auto check = [&](const Result<void>& r) {
    if (!r) {
      stats_.map_errors++;
      ok = false;
    }
  };
  for (auto& m : d.mac_del) kernel_->del_mac(m);
  for (auto id : d.hop_del) check(kernel_->set_hop(id, fdp_hop{}));
  for (auto id : d.flood_del) check(kernel_->set_flood(id, fdp_flood{}));
  for (auto& [id, h] : d.hop_set) {
    fdp_hop v{};
    v.flags = FDP_HOP_KNOWN | (h.vxlan ? FDP_HOP_VXLAN : 0);
    v.ip = htonl(h.ip.value());
    check(kernel_->set_hop(id, v));
  }
  for (auto& [id, f] : d.flood_set) check(kernel_->set_flood(id, to_flood(f)));
  for (auto& [mac, e] : d.mac_set) {
    fdp_mac_val v{};
    v.peer = e.peer;
    v.flags = e.local ? FDP_MAC_LOCAL : 0;
    v.port = e.port;
    check(kernel_->set_mac(mac, v));
  }
  // On a failed write, forget what was applied so the next sync writes everything again.
  applied_ = ok ? std::move(want) : router::FastdpTables{};
}

}  // namespace weft::router_net
