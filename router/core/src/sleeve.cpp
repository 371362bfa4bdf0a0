#include "weft/router/sleeve.hpp"

#include <algorithm>

#include "weft/datapath/fragment.hpp"
#include "weft/datapath/icmp.hpp"
#include "weft/datapath/ipv4_header.hpp"

namespace weft::router {
namespace {

bool is_special(std::span<const std::uint8_t> frame) {
  if (frame.size() < 14) return false;
  return std::all_of(frame.begin(), frame.begin() + 14, [](std::uint8_t b) { return b == 0; });
}

void put_name(Bytes& out, PeerName p) {
  auto m = p.mac().bytes();
  out.insert(out.end(), m.begin(), m.end());
}

}  // namespace

std::vector<FrameRecordView> parse_frame_records(std::span<const std::uint8_t> body, bool& malformed) {
  std::vector<FrameRecordView> out;
  malformed = false;
  ByteReader r(body);
  while (r.remaining() >= kFrameRecordOverhead) {
    auto src = r.take(6);
    auto dst = r.take(6);
    auto len = r.u16be();
    auto frame = r.take(*len);
    if (!frame) {
      malformed = true;
      return out;
    }
    out.push_back(FrameRecordView{*PeerName::from_bytes(*src), *PeerName::from_bytes(*dst), *frame});
  }
  if (!r.empty()) malformed = true;  // trailing garbage
  return out;
}

void append_frame_record(Bytes& out, PeerName src, PeerName dst, std::span<const std::uint8_t> frame) {
  put_name(out, src);
  put_name(out, dst);
  out.push_back(static_cast<std::uint8_t>(frame.size() >> 8));
  out.push_back(static_cast<std::uint8_t>(frame.size()));
  out.insert(out.end(), frame.begin(), frame.end());
}

Result<std::optional<std::uint8_t>> Sleeve::negotiate(const mesh::RemoteFeatures& remote) {
  if (!remote.overlays) return std::optional<std::uint8_t>{};  // compat sleeve: tags 1/2/3
  const auto& o = *remote.overlays;
  if (std::find(o.begin(), o.end(), "sleeve") == o.end()) {
    return make_error("no matching overlays: we offer sleeve, the peer offers {}",
                      o.empty() ? std::string("none") : fmt::format("{}", fmt::join(o, " ")));
  }
  return std::optional<std::uint8_t>(0);
}

Sleeve::Fwd* Sleeve::by_peer(PeerName p) {
  auto it = by_peer_.find(p);
  return it == by_peer_.end() ? nullptr : by_conn(it->second);
}

const Sleeve::Fwd* Sleeve::by_peer(PeerName p) const {
  auto it = by_peer_.find(p);
  if (it == by_peer_.end()) return nullptr;
  auto f = fwds_.find(it->second);
  return f == fwds_.end() ? nullptr : &f->second;
}

Sleeve::Fwd* Sleeve::by_conn(mesh::ConnId c) {
  auto it = fwds_.find(c);
  return it == fwds_.end() ? nullptr : &it->second;
}

std::size_t Sleeve::packet_overhead(const Fwd& f) const {
  return f.enc ? kSleeveEncryptedOverhead : kSleevePlainOverhead;
}

void Sleeve::add_connection(TimePoint now, const SleeveConnection& c, SleeveEffects& fx) {
  remove_connection(c.conn);
  Fwd f;
  f.c = c;
  if (c.key) {
    auto side = c.outbound ? mesh::Side::outbound : mesh::Side::inbound;
    f.enc.emplace(*c.key, side);
    f.dec.emplace(*c.key, side);
  }
  f.mtu = default_mtu_;
  if (c.extended && c.key) f.ext_sealer = std::make_unique<ExtSealer>(*c.key, c.ext_aead, c.outbound);
  f.last_rx = now;
  f.next_hb = now + kFastHeartbeat;
  auto [it, _] = fwds_.emplace(c.conn, std::move(f));
  by_peer_[c.remote] = c.conn;
  if (it->second.c.remote_addr) heartbeat(it->second, fx);
}

void Sleeve::remove_connection(mesh::ConnId conn) {
  auto it = fwds_.find(conn);
  if (it == fwds_.end()) return;
  auto p = by_peer_.find(it->second.c.remote);
  if (p != by_peer_.end() && p->second == conn) by_peer_.erase(p);
  fwds_.erase(it);
}

SleeveEffects::Datagram Sleeve::new_datagram() {
  if (spare_.empty()) return {};
  auto d = std::move(spare_.back());
  spare_.pop_back();
  return d;
}

void Sleeve::recycle(SleeveEffects& fx) {
  // NB: bounded, so a burst of many datagrams does not pin its memory for good.
  constexpr std::size_t kMaxSpare = 128;
  for (auto& d : fx.datagrams) {
    if (spare_.size() >= kMaxSpare) break;
    d.data.clear();
    d.train.clear();
    spare_.push_back(std::move(d));
  }
  fx.clear();
}

void Sleeve::append_record(Pending& p, PeerName src, PeerName dst, std::span<const std::uint8_t> frame) {
  if (p.buf.empty()) put_name(p.buf, self_);
  append_frame_record(p.buf, src, dst, frame);
  p.frames++;
}

void Sleeve::close_pending(Fwd& f, Pending& p, bool df, SleeveEffects& fx) {
  if (p.frames == 0) return;
  auto d = new_datagram();
  d.to = *f.c.remote_addr;
  d.df = df;
  d.peer = f.c.remote;
  if (f.enc) {
    const auto records = std::span<const std::uint8_t>(p.buf).subspan(kSleevePlainOverhead);
    d.data.reserve(kSleeveEncryptedOverhead + records.size());
    put_name(d.data, self_);
    f.enc->for_path(df).seal_append(d.data, records);
  } else {
    std::swap(d.data, p.buf);  // the records already sit behind our name: that is the datagram
  }
  stats_.tx_datagrams++;
  stats_.tx_frames += p.frames;
  f.tx_frames += p.frames;
  f.tx_bytes += d.data.size();
  fx.datagrams.push_back(std::move(d));
  p.buf.clear();  // capacity kept (plain: the recycled buffer that took its place)
  p.frames = 0;
}

void Sleeve::send_special(Fwd& f, std::size_t len, bool df, SleeveEffects& fx, std::uint64_t uid) {
  if (!f.c.remote_addr) return;
  Bytes frame(len, 0);
  if (len == kHeartbeatFrameLen) {
    for (int i = 0; i < 8; ++i) frame[14 + i] = static_cast<std::uint8_t>(uid >> (56 - 8 * i));
  }
  Pending p;
  append_record(p, self_, f.c.remote, frame);
  close_pending(f, p, df, fx);
  stats_.tx_frames--;  // control traffic is not a data frame
  f.tx_frames--;
}

void Sleeve::heartbeat(Fwd& f, SleeveEffects& fx) { send_special(f, kHeartbeatFrameLen, true, fx, f.c.conn_uid); }

void Sleeve::control(Fwd& f, std::uint8_t sub, std::span<const std::uint8_t> payload, SleeveEffects& fx) {
  SleeveEffects::Control c;
  c.conn = f.c.conn;
  if (f.c.compat) {
    c.tag = static_cast<mesh::ProtocolTag>(sub);
  } else {
    c.tag = mesh::ProtocolTag::overlay_control;
    c.payload = {f.c.index, sub};
  }
  c.payload.insert(c.payload.end(), payload.begin(), payload.end());
  fx.controls.push_back(std::move(c));
}

void Sleeve::on_control(TimePoint now, mesh::ConnId conn, mesh::ProtocolTag tag, std::span<const std::uint8_t> payload,
                        SleeveEffects& fx) {
  auto* f = by_conn(conn);
  if (!f) return;
  std::uint8_t sub;
  if (tag == mesh::ProtocolTag::overlay_control) {
    if (payload.size() < 2 || payload[0] != f->c.index) return;  // not ours, or malformed: drop
    sub = payload[1];
    payload = payload.subspan(2);
  } else {
    sub = static_cast<std::uint8_t>(tag);
  }
  switch (sub) {
    case kSubConnectionEstablished:
      if (f->established) return;
      f->established = true;
      f->hb_interval = kSlowHeartbeat;
      f->next_hb = now + kSlowHeartbeat;
      fx.established.push_back(conn);
      // Fragmentation test (non-DF) and the PMTU trigger (DF, expected to fail with EMSGSIZE).
      send_special(*f, kFragTestFrameLen, false, fx);
      f->next_frag_test = now + kFragTestInterval;
      send_special(*f, kPmtuTriggerFrameLen, true, fx);
      return;
    case kSubFragmentationReceived: f->stack_frag = true; return;
    case kSubPmtuVerified: return;  // we originate no MTU tests besides the trigger
    default: return;
  }
}

void Sleeve::on_datagram(TimePoint now, const datapath::UdpEndpoint& from, std::span<const std::uint8_t> data,
                         std::vector<FrameRecordView>& frames, SleeveEffects& fx) {
  stats_.rx_datagrams++;
  if (data.size() < 6) {
    stats_.rx_malformed++;
    return;
  }
  auto sender = *PeerName::from_bytes(data.first(6));
  auto* f = by_peer(sender);
  if (!f) {
    stats_.rx_unknown_sender++;
    return;
  }
  if (f->c.extended && is_extended_fragment(data)) return on_extended(*f, data, frames);
  std::span<const std::uint8_t> body = data.subspan(6);
  if (f->dec) {
    auto r = f->dec->open_into(plain_, body);
    if (!r) {
      stats_.rx_decrypt_errors++;
      return;
    }
    if (!*r) {
      stats_.rx_replayed++;
      return;
    }
    body = plain_;
  }
  f->rx_bytes += data.size();
  bool malformed = false;
  auto records = parse_frame_records(body, malformed);
  if (malformed) stats_.rx_malformed++;
  for (auto& rec : records) {
    if (!is_special(rec.frame)) {
      stats_.rx_frames++;
      f->rx_frames++;
      frames.push_back(rec);
      continue;
    }
    if (rec.src != f->c.remote || rec.dst != self_) continue;
    auto len = rec.frame.size();
    if (len == kHeartbeatFrameLen) {
      std::uint64_t uid = 0;
      for (int i = 0; i < 8; ++i) uid = (uid << 8) | rec.frame[14 + i];
      if (uid != f->c.conn_uid) continue;
      bool first = !f->heard;
      bool had_addr = f->c.remote_addr.has_value();
      f->heard = true;
      f->last_rx = now;
      f->c.remote_addr = from;
      if (!had_addr) heartbeat(*f, fx);
      if (first) control(*f, kSubConnectionEstablished, {}, fx);
    } else if (len == kFragTestFrameLen) {
      control(*f, kSubFragmentationReceived, {}, fx);
    } else {
      std::uint8_t mtu[2] = {static_cast<std::uint8_t>((len - 14) >> 8), static_cast<std::uint8_t>(len - 14)};
      control(*f, kSubPmtuVerified, mtu, fx);
    }
  }
}

void Sleeve::on_extended(Fwd& f, std::span<const std::uint8_t> data, std::vector<FrameRecordView>& frames) {
  auto frag = parse_extended_fragment(data);
  if (!frag) {
    stats_.rx_malformed++;
    return;
  }
  // Sealed iff the connection is encrypted, with the negotiated AEAD: anything else is refused.
  if (frag->sealed != (f.ext_sealer != nullptr) || (f.ext_sealer && frag->aead != f.ext_sealer->aead())) {
    stats_.rx_decrypt_errors++;
    return;
  }
  f.rx_bytes += data.size();
  Reassembler::Done done;
  auto evicted = f.reasm.evicted();
  auto outcome = f.reasm.add(*frag, done);
  stats_.rx_ext_incomplete += f.reasm.evicted() - evicted;
  if (outcome == Reassembler::Outcome::dropped) {
    stats_.rx_ext_incomplete++;
    return;
  }
  if (outcome != Reassembler::Outcome::complete) return;
  std::span<std::uint8_t> frame = done.payload;
  if (f.ext_sealer) {
    if (!f.ext_replay.check(done.id)) {
      stats_.rx_replayed++;
      return;
    }
    auto ad = extended_ad(true, done.aead, done.src, done.dst, static_cast<std::uint32_t>(done.payload.size()),
                          done.vnet);
    if (!f.ext_sealer->open(done.payload, ad, done.id)) {
      stats_.rx_decrypt_errors++;
      return;
    }
    f.ext_replay.accept(done.id);
    frame = done.payload.first(done.payload.size() - kExtTagLen);
  }
  if (frame.size() < 14 || !vnet_header_fits(frame, done.vnet)) {
    stats_.rx_malformed++;
    return;
  }
  stats_.rx_frames++;
  stats_.rx_ext_frames++;
  f.rx_frames++;
  frames.push_back(FrameRecordView{done.src, done.dst, frame, done.vnet});
}

bool Sleeve::extended_to(PeerName next_hop) const {
  const auto* f = by_peer(next_hop);
  return f != nullptr && f->c.extended && f->c.remote_addr.has_value();
}

void Sleeve::send_superframe(TimePoint, PeerName next_hop, PeerName src, PeerName dst,
                             std::span<const std::uint8_t> frame, const datapath::VnetHeader& vnet,
                             SleeveEffects& fx) {
  auto* f = by_peer(next_hop);
  if (!f || !f->c.extended || !f->c.remote_addr) {
    stats_.tx_dropped++;
    return;
  }
  superframe(*f, src, dst, frame, vnet, fx);
}

void Sleeve::superframe(Fwd& f, PeerName src, PeerName dst, std::span<const std::uint8_t> frame,
                        const datapath::VnetHeader& vnet, SleeveEffects& fx) {
  // Frames queued earlier for this peer leave first.
  close_pending(f, f.df, true, fx);
  close_pending(f, f.non_df, false, fx);
  auto d = new_datagram();
  d.to = *f.c.remote_addr;
  d.df = false;
  d.peer = f.c.remote;
  // Fragments as big as the largest DF sleeve datagram for this path MTU.
  const std::size_t dgram =
      std::min(static_cast<std::size_t>(f.mtu) + overhead_df(f.enc.has_value()) - 28, kMaxUdpPayload);
  if (!build_extended_fragments(d.data, d.train, self_, src, dst, f.ext_next_id, vnet, frame, dgram, f.ext_sealer.get(),
                                seal_scratch_)) {
    stats_.tx_dropped++;
    d.data.clear();
    d.train.clear();
    spare_.push_back(std::move(d));
    return;
  }
  f.ext_next_id++;
  stats_.tx_frames++;
  stats_.tx_ext_frames++;
  stats_.tx_datagrams += d.train.size();
  stats_.tx_ext_datagrams += d.train.size();
  f.tx_frames++;
  f.tx_bytes += d.data.size();
  fx.datagrams.push_back(std::move(d));
}

void Sleeve::send(TimePoint now, PeerName next_hop, PeerName src, PeerName dst, std::span<const std::uint8_t> frame,
                  const datapath::VnetHeader* vnet, SleeveEffects& fx) {
  if (vnet == nullptr || (!vnet->is_gso() && !vnet->needs_csum())) {
    return send_frame(now, next_hop, src, dst, frame, fx);
  }
  auto* f = by_peer(next_hop);
  const auto mtu = static_cast<std::size_t>(f != nullptr ? f->mtu : default_mtu_);
  // A superframe goes whole on the extended overlay. A frame of at most one MTU whose checksum is
  // merely partial is completed here and joins the batch instead: many small frames then share
  // one datagram (a 64-byte UDP stream would otherwise cost a datagram per frame).
  const bool small = !vnet->is_gso() && frame.size() <= mtu + 14;
  if (!small && f != nullptr && f->c.extended && f->c.remote_addr) {
    return superframe(*f, src, dst, frame, *vnet, fx);
  }
  // A Weave peer (or a weft one without the extension), or a small frame: complete frames of at
  // most the peer's MTU.
  segs_.clear();
  if (!plain_frames(frame, *vnet, mtu, seg_arena_, segs_)) {
    stats_.tx_unsendable++;
    return;
  }
  for (auto seg : segs_) send_frame(now, next_hop, src, dst, seg, fx);
}

void Sleeve::queue_record(Fwd& f, bool df, PeerName src, PeerName dst, std::span<const std::uint8_t> frame,
                          SleeveEffects& fx) {
  auto& p = df ? f.df : f.non_df;
  auto overhead = packet_overhead(f);
  const std::size_t records = p.buf.empty() ? 0 : p.buf.size() - kSleevePlainOverhead;
  auto total = overhead + records + kFrameRecordOverhead + frame.size();
  if (p.frames > 0 && (total > f.max_payload || p.frames >= kMaxFramesPerBurst)) {
    close_pending(f, p, df, fx);
    total = overhead + kFrameRecordOverhead + frame.size();
  }
  if (p.frames == 0 && total > (df ? f.max_payload : kMaxUdpPayload)) {
    stats_.tx_dropped++;
    return;
  }
  append_record(p, src, dst, frame);
}

void Sleeve::send_frame(TimePoint, PeerName next_hop, PeerName src, PeerName dst, std::span<const std::uint8_t> frame,
                        SleeveEffects& fx) {
  auto* f = by_peer(next_hop);
  if (!f || !f->c.remote_addr) {
    stats_.tx_dropped++;
    return;
  }
  auto pkt = datapath::parse_ipv4_frame(frame);
  auto limit = static_cast<std::size_t>(f->mtu) + 14;
  if (pkt && pkt->ip.df) {
    if (frame.size() <= limit) return queue_record(*f, true, src, dst, frame, fx);
    if (Mac::from_bytes(frame.first(6)).is_broadcast()) {
      stats_.tx_dropped++;
      return;
    }
    auto icmp = datapath::make_icmp_frag_needed(datapath::FrameView{frame}, static_cast<std::uint16_t>(f->mtu));
    if (!icmp.empty()) {
      stats_.tx_icmp_frag_needed++;
      // From the frame's destination (its MAC and address are the ICMP's source) to its sender.
      if (src == self_) {
        fx.inject.push_back(std::move(icmp));
      } else {
        fx.replies.push_back({dst, src, std::move(icmp)});
      }
    }
    return;
  }
  if (f->stack_frag || !pkt) return queue_record(*f, false, src, dst, frame, fx);
  if (frame.size() <= limit) return queue_record(*f, true, src, dst, frame, fx);
  if (!datapath::fragment_ipv4(datapath::FrameView{frame}, static_cast<std::uint16_t>(f->mtu), frag_arena_, frags_)) {
    stats_.tx_dropped++;
    return;
  }
  stats_.tx_fragmented++;
  for (auto fr : frags_) queue_record(*f, true, src, dst, fr, fx);
}

void Sleeve::flush(SleeveEffects& fx) {
  for (auto& [id, f] : fwds_) {
    close_pending(f, f.df, true, fx);
    close_pending(f, f.non_df, false, fx);
  }
}

void Sleeve::on_emsgsize(PeerName peer, int path_mtu) {
  auto* f = by_peer(peer);
  if (!f || path_mtu <= 0) return;
  int m = path_mtu - static_cast<int>(overhead_df(f->enc.has_value()));
  f->mtu = std::max(m, 68);
  f->max_payload = static_cast<std::size_t>(std::max(path_mtu - 28, 100));
}

TimePoint Sleeve::on_tick(TimePoint now, SleeveEffects& fx) {
  TimePoint next = now + kSlowHeartbeat;
  for (auto it = fwds_.begin(); it != fwds_.end();) {
    auto& [id, f] = *it;
    if (now - f.last_rx > kHeartbeatTimeout) {
      // Reported once: the forwarder goes now, whether or not the mesh still has the connection.
      fx.failed.emplace_back(id, "no sleeve heartbeat received for 60s");
      auto p = by_peer_.find(f.c.remote);
      if (p != by_peer_.end() && p->second == id) by_peer_.erase(p);
      it = fwds_.erase(it);
      continue;
    }
    ++it;
    if (f.c.remote_addr && now >= f.next_hb) {
      heartbeat(f, fx);
      f.next_hb = now + f.hb_interval;
    }
    if (f.established && now >= f.next_frag_test) {
      send_special(f, kFragTestFrameLen, false, fx);
      f.next_frag_test = now + kFragTestInterval;
    }
    // NB: an entry with no address yet (inbound, before the first heartbeat) sends nothing, so its
    // next_hb never moves: counting it would return a past deadline and spin the shell's timer.
    if (f.c.remote_addr) next = std::min(next, f.next_hb);
    next = std::min(next, f.last_rx + kHeartbeatTimeout + std::chrono::milliseconds(1));
    if (f.established) next = std::min(next, f.next_frag_test);
  }
  return next;
}

std::vector<Sleeve::ForwarderStatus> Sleeve::status() const {
  std::vector<ForwarderStatus> out;
  for (auto& [id, f] : fwds_) {
    std::optional<Aead> ext;
    if (f.c.extended) ext = f.ext_sealer ? f.ext_sealer->aead() : Aead::none;
    out.push_back({id, f.c.remote, f.established, f.enc.has_value(), f.mtu, f.c.remote_addr, f.tx_frames, f.tx_bytes,
                   f.rx_frames, f.rx_bytes, ext});
  }
  return out;
}

std::optional<int> Sleeve::mtu_to(PeerName peer) const {
  const auto* f = by_peer(peer);
  if (f == nullptr) return std::nullopt;
  return f->mtu;
}

}  // namespace weft::router
