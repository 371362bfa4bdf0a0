#include "weft/router_net/overlay_shell.hpp"

#include <cerrno>

#include "weft/base/strings.hpp"

namespace weft::router_net {

OverlayShell::OverlayShell(asio::io_context& io, mesh_net::MeshNode& node, std::unique_ptr<datapath::Datapath> dp,
                           std::unique_ptr<datapath::Underlay> underlay, int mtu, Logger log)
    : io_(io),
      node_(node),
      dp_(std::move(dp)),
      underlay_(std::move(underlay)),
      mtu_(mtu),
      log_(std::move(log)),
      sleeve_(node.config().self.name, mtu),
      fwd_(node.config().self.name),
      tick_(io),
      expire_(io) {
  vnet_ = dynamic_cast<datapath::VnetDatapath*>(dp_.get());
}

void OverlayShell::start() {
  mesh_net::NodeHooks h;
  h.on_connection_added = [this](const mesh::MeshCore::LocalConn& c, const mesh::HandshakeResult& hs) {
    router::SleeveConnection sc;
    sc.conn = c.id;
    sc.remote = c.info.remote.name;
    sc.conn_uid = c.info.conn_uid;
    sc.outbound = c.info.outbound;
    auto neg = router::negotiate_overlays(node_.config().overlays, c.info.remote);
    if (!neg) {
      node_.close_connection(c.id, neg.error().message);
      return false;
    }
    sc.compat = neg->compat;
    sc.index = neg->index_of(router::kOverlaySleeve).value_or(0);
    if (auto fi = neg->index_of(router::kOverlayFastdp); fi && fastdp_ != nullptr) {
      router::FastdpConnection fc{c.id, c.info.remote.name, c.info.conn_uid, *fi, std::nullopt};
      if (auto ip = Ipv4::parse(c.info.remote_ip); ip && c.info.outbound) {
        fc.remote_addr = datapath::UdpEndpoint{*ip, static_cast<std::uint16_t>(c.info.remote_port + 1)};
      }
      fastdp_->add_connection(Clock::now(), fc);
    }
    if (!neg->index_of(router::kOverlaySleeve)) return false;  // fastdp only
    bool untrusted = !c.info.trusted_by_us || !c.info.remote.trusted;
    if (hs.session_key && untrusted) sc.key = hs.session_key;
    auto offer = split(node_.config().weft_overlay, ' ');
    if (auto ext = router::negotiate_extended(std::vector<std::string>(offer.begin(), offer.end()),
                                              c.info.remote.weft_overlay)) {
      sc.extended = true;
      sc.ext_aead = *ext;
    }
    if (c.info.outbound) {
      if (auto ip = Ipv4::parse(c.info.remote_ip)) sc.remote_addr = datapath::UdpEndpoint{*ip, c.info.remote_port};
    }
    router::SleeveEffects fx;
    sleeve_.add_connection(Clock::now(), sc, fx);
    apply(fx);
    rearm_tick();
    return false;  // established once the sleeve heartbeats say so
  };
  h.on_connection_removed = [this](mesh::ConnId id, PeerName) {
    sleeve_.remove_connection(id);
    if (fastdp_ != nullptr) fastdp_->remove_connection(id);
  };
  h.on_overlay_message = [this](const mesh::OverlayMessage& m) {
    if (fastdp_ != nullptr && m.tag == mesh::ProtocolTag::overlay_control) {
      fastdp_->on_control(Clock::now(), m.conn, m.payload);
    }
    router::SleeveEffects fx;
    sleeve_.on_control(Clock::now(), m.conn, m.tag, m.payload, fx);
    apply(fx);
  };
  h.on_peers_gone = [this](const std::vector<mesh::PeerSummary>& gone) {
    for (auto& p : gone) fwd_.peer_gone(p.name);
  };
  node_.set_hooks(std::move(h));
  if (dp_->wait_fd() >= 0) {
    dp_fd_.emplace(io_, ::dup(dp_->wait_fd()));
    watch_datapath();
  }
  ul_fd_.emplace(io_, ::dup(underlay_->wait_fd()));
  watch_underlay();
  rearm_tick();
}

void OverlayShell::stop() {
  stopped_ = true;
  boost::system::error_code ec;
  if (dp_fd_) dp_fd_->close(ec);
  if (ul_fd_) ul_fd_->close(ec);
  tick_.cancel();
  expire_.cancel();
}

void OverlayShell::watch_datapath() {
  dp_fd_->async_wait(asio::posix::stream_descriptor::wait_read, [this](const boost::system::error_code& ec) {
    if (ec || stopped_) return;
    drain_datapath();
    watch_datapath();
  });
}

void OverlayShell::watch_underlay() {
  // Datagrams already read from the socket (the rest of a GRO train) do not make the fd
  // readable again: finish them first, letting other work run in between.
  if (underlay_->has_pending()) {
    asio::post(io_, [this] {
      if (stopped_) return;
      drain_underlay();
      watch_underlay();
    });
    return;
  }
  ul_fd_->async_wait(asio::posix::stream_descriptor::wait_read, [this](const boost::system::error_code& ec) {
    if (ec || stopped_) return;
    drain_underlay();
    watch_underlay();
  });
}

void OverlayShell::send_out(TimePoint now, const router::OverlaySend& s, const datapath::VnetHeader* vh,
                            router::SleeveEffects& fx) {
  if (fastdp_ != nullptr && fastdp_->usable(s.next_hop) && send_fastdp(s, vh, fx)) return;
  // Sleeve, extended overlay or segmented: the sleeve core decides (Sleeve::send).
  sleeve_.send(now, s.next_hop, s.src_peer, s.dst_peer, s.frame, vh, fx);
}

bool OverlayShell::send_fastdp(const router::OverlaySend& s, const datapath::VnetHeader* vh, router::SleeveEffects& fx) {
  if (vh == nullptr || (!vh->is_gso() && !vh->needs_csum())) {
    return fastdp_->send(s.next_hop, s.src_peer, s.dst_peer, s.frame, fx.inject);
  }
  // VXLAN carries complete frames: a superframe the kernel left to us is cut here.
  plain_.clear();
  if (!router::plain_frames(s.frame, *vh, static_cast<std::size_t>(fastdp_->mtu()), arena_, plain_)) {
    ++unsendable_;
    return true;
  }
  for (auto f : plain_) {
    if (!fastdp_->send(s.next_hop, s.src_peer, s.dst_peer, f, fx.inject)) {
      sleeve_.send_frame(Clock::now(), s.next_hop, s.src_peer, s.dst_peer, f, fx);
    }
  }
  return true;
}

void OverlayShell::deliver_fastdp_frame(TimePoint now, PeerName src, PeerName dst, std::span<const std::uint8_t> frame,
                                        const datapath::VnetHeader* vh, std::optional<PeerName> from) {
  router::SleeveEffects fx;
  bool inj = false;
  sends_.clear();
  fwd_.on_overlay_frame(now, src, dst, frame, node_.core().routes(), inj, sends_, from);
  if (inj) inject(frame, vh);
  flush_inject();  // the frame lives in the kernel's buffer only for this call
  for (auto& s : sends_) send_out(now, s, vh, fx);
  sleeve_.flush(fx);
  apply(fx);
}

void OverlayShell::drain_datapath() {
  std::array<datapath::FrameView, kBurst> frames;
  auto& fx = burst_fx_;
  auto now = Clock::now();
  auto& routes = node_.core().routes();
  // NB: bounded: at most 16 bursts per wake-up, so the underlay and timers get their turn.
  for (int round = 0; round < 16; ++round) {
    auto n = dp_->receive(frames);
    if (n == 0) break;
    std::span<const datapath::VnetHeader> heads;
    if (vnet_ != nullptr) heads = vnet_->rx_vnet_headers();
    for (std::size_t i = 0; i < n; ++i) {
      sends_.clear();
      fwd_.on_local_frame(now, frames[i].data, routes, sends_);
      const datapath::VnetHeader* vh = i < heads.size() ? &heads[i] : nullptr;
      for (auto& s : sends_) send_out(now, s, vh, fx);
    }
    // The frame views die at the next receive(): build the datagrams now.
    sleeve_.flush(fx);
    apply(fx);
    sleeve_.recycle(fx);                              // buffers and capacity kept for the next burst
    if (fastdp_ != nullptr) fastdp_->tables_dirty();  // local MACs learned: let the kernel take them
  }
}

void OverlayShell::inject(std::span<const std::uint8_t> frame, const datapath::VnetHeader* vh) {
  if (vnet_ != nullptr) {
    inject_.push_back(datapath::FrameView{frame});
    inject_vh_.push_back(vh != nullptr ? *vh : datapath::VnetHeader{});
    return;
  }
  if (vh == nullptr) {
    inject_.push_back(datapath::FrameView{frame});
    return;
  }
  // A backend without offloads: segment or complete here (the bridge MTU bounds nothing here:
  // the frame was cut to the sender's MSS already).
  flush_inject();
  plain_.clear();
  if (!router::plain_frames(frame, *vh, 0, arena_, plain_)) {
    ++unsendable_;
    return;
  }
  for (auto f : plain_) inject_.push_back(datapath::FrameView{f});
  flush_inject();
}

void OverlayShell::flush_inject() {
  if (inject_.empty()) return;
  if (vnet_ != nullptr) {
    vnet_->send_vnet(inject_, inject_vh_);
  } else {
    dp_->send(inject_);
  }
  inject_.clear();
  inject_vh_.clear();
}

void OverlayShell::drain_underlay() {
  std::array<datapath::DatagramIn, kBurst> dgrams;
  auto& fx = burst_fx_;
  auto now = Clock::now();
  for (int round = 0; round < 16; ++round) {
    auto n = underlay_->receive(dgrams);
    if (n == 0) break;
    auto& routes = node_.core().routes();
    for (std::size_t i = 0; i < n; ++i) {
      records_.clear();
      sleeve_.on_datagram(now, dgrams[i].from, dgrams[i].data, records_, fx);
      const auto d = dgrams[i].data;
      bool in_datagram = true;  // every record to inject points into the received datagram
      for (auto& rec : records_) {
        bool inj = false;
        sends_.clear();
        fwd_.on_overlay_frame(now, rec.src, rec.dst, rec.frame, routes, inj, sends_);
        const datapath::VnetHeader* vh = rec.vnet ? &*rec.vnet : nullptr;
        if (inj) {
          inject(rec.frame, vh);
          in_datagram = in_datagram && rec.frame.data() >= d.data() &&
                        rec.frame.data() + rec.frame.size() <= d.data() + d.size();
        }
        for (auto& s : sends_) send_out(now, s, vh, fx);
      }
      // Records in the sleeve's decryption or reassembly buffer die with the next datagram: inject
      // them now. Those in the underlay's buffers live until the next receive(), so frames of
      // many datagrams go down in one batch.
      if (!in_datagram) flush_inject();
    }
    flush_inject();
    route_replies(now, fx);
    sleeve_.flush(fx);
    apply(fx);
    sleeve_.recycle(fx);
  }
}

void OverlayShell::route_replies(TimePoint now, router::SleeveEffects& fx) {
  if (fx.replies.empty()) return;
  auto replies = std::move(fx.replies);
  fx.replies.clear();
  auto& routes = node_.core().routes();
  for (auto& r : replies) {
    bool inj = false;
    sends_.clear();
    fwd_.on_overlay_frame(now, r.src, r.dst, r.frame, routes, inj, sends_);
    // NB: dst is never us (we relayed the frame it answers), so nothing is injected; a reply to a
    // reply cannot arise (an ICMP error is never answered).
    for (auto& s : sends_) sleeve_.send_frame(now, s.next_hop, s.src_peer, s.dst_peer, s.frame, fx);
  }
}

void OverlayShell::apply(router::SleeveEffects& fx) {
  if (!fx.inject.empty()) {
    std::vector<datapath::FrameView> views;
    for (auto& b : fx.inject) views.push_back(datapath::FrameView{b});
    dp_->send(views);
  }
  // Datagrams in order; a train (an extended-overlay frame) expands into its fragments.
  out_.clear();
  owner_.clear();
  for (std::size_t k = 0; k < fx.datagrams.size(); ++k) {
    auto& d = fx.datagrams[k];
    if (d.train.empty()) {
      out_.push_back(datapath::DatagramOut{d.to, d.data, d.df});
      owner_.push_back(k);
      continue;
    }
    std::size_t off = 0;
    for (auto sz : d.train) {
      out_.push_back(datapath::DatagramOut{d.to, std::span<const std::uint8_t>(d.data).subspan(off, sz), d.df});
      owner_.push_back(k);
      off += sz;
    }
  }
  std::size_t done = 0;
  while (done < out_.size()) {
    datapath::SendError err;
    auto n = underlay_->send(std::span(out_).subspan(done), &err);
    done += n;
    if (done >= out_.size()) break;
    // The datagram at `done` failed: EMSGSIZE feeds PMTU discovery; anything else is dropped.
    if (err.error == EMSGSIZE) sleeve_.on_emsgsize(fx.datagrams[owner_[done]].peer, err.path_mtu);
    ++done;
  }
  for (auto& c : fx.controls) node_.send_overlay(c.conn, c.tag, c.payload);
  for (auto id : fx.established) node_.connection_established(id);
  for (auto& [id, why] : fx.failed) node_.close_connection(id, why);
}

void OverlayShell::rearm_tick() {
  if (stopped_) return;
  router::SleeveEffects fx;
  auto next = sleeve_.on_tick(Clock::now(), fx);
  apply(fx);
  if (!tick_armed_ || *tick_armed_ != next) {  // a timerfd_settime only when the deadline moved
    tick_armed_ = next;
    tick_.expires_at(next);
    tick_.async_wait([this](const boost::system::error_code& ec) {
      if (ec || stopped_) return;
      tick_armed_.reset();
      rearm_tick();
    });
  }
  if (expire_.expiry() <= Clock::now()) {
    expire_.expires_after(std::chrono::minutes(1));
    expire_.async_wait([this](const boost::system::error_code& ec) {
      if (!ec && !stopped_) fwd_.expire(Clock::now());
    });
  }
}

}  // namespace weft::router_net
