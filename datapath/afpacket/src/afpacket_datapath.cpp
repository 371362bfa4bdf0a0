#include "weft/datapath/afpacket_datapath.hpp"

#include <arpa/inet.h>
#include <linux/if_ether.h>
#include <linux/if_packet.h>
#include <net/if.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <array>
#include <cerrno>
#include <cstring>
#include <utility>

namespace weft::datapath {

namespace {

constexpr std::size_t kTxChunk = 64;
// Room the kernel needs in a V2 slot besides the frame: tpacket2_hdr +
// sockaddr_ll, aligned, the 16 bytes it keeps before the MAC header, and the
// virtio_net_hdr.
constexpr std::size_t kSlotOverhead = 128;
constexpr std::size_t kMaxSuperframe = 65536 + 18;

std::size_t align16(std::size_t n) { return (n + 15) & ~std::size_t{15}; }

std::string errno_text() { return std::strerror(errno); }

template <typename T>
int set_opt(int fd, int level, int name, const T& v) {
  return ::setsockopt(fd, level, name, &v, sizeof v);
}

std::uint32_t load_status(const std::uint32_t* p) { return __atomic_load_n(p, __ATOMIC_ACQUIRE); }
void store_status(std::uint32_t* p, std::uint32_t v) { __atomic_store_n(p, v, __ATOMIC_RELEASE); }

}  // namespace

Result<std::unique_ptr<AfPacketDatapath>> AfPacketDatapath::open(std::string ifname,
                                                                 AfPacketOptions opts) {
  std::unique_ptr<AfPacketDatapath> d(new AfPacketDatapath());
  auto r = d->setup(std::move(ifname), opts);
  if (!r) {
    return r.error();
  }
  return d;
}

Result<void> AfPacketDatapath::setup(std::string ifname, AfPacketOptions opts) {
  ifname_ = std::move(ifname);
  opts_ = opts;
  const unsigned ifindex = ::if_nametoindex(ifname_.c_str());
  if (ifindex == 0) {
    return make_error("af_packet {}: no such interface: {}", ifname_, errno_text());
  }
  rx_fd_ = ::socket(AF_PACKET, SOCK_RAW | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
  if (rx_fd_ < 0) {
    return make_error("af_packet {}: socket: {}", ifname_, errno_text());
  }
  ifreq ifr{};
  std::strncpy(ifr.ifr_name, ifname_.c_str(), IFNAMSIZ - 1);
  if (::ioctl(rx_fd_, SIOCGIFMTU, &ifr) == 0 && ifr.ifr_mtu > 0) {
    mtu_ = static_cast<std::size_t>(ifr.ifr_mtu);
  }
  const bool v3 = opts_.ring == AfPacketOptions::Ring::v3;
  if (set_opt(rx_fd_, SOL_PACKET, PACKET_VERSION, v3 ? int{TPACKET_V3} : int{TPACKET_V2}) != 0) {
    return make_error("af_packet {}: PACKET_VERSION: {}", ifname_, errno_text());
  }
  // NB: the kernel refuses PACKET_VNET_HDR once a ring is mapped, so it comes
  // first.
  if (opts_.vnet_hdr && set_opt(rx_fd_, SOL_PACKET, PACKET_VNET_HDR, 1) != 0) {
    return make_error("af_packet {}: PACKET_VNET_HDR: {}", ifname_, errno_text());
  }
  // Older kernels (< 4.20) lack it; receive() also skips PACKET_OUTGOING
  // frames.
  (void)set_opt(rx_fd_, SOL_PACKET, PACKET_IGNORE_OUTGOING, 1);

  // Ring geometry.
  const std::size_t page = static_cast<std::size_t>(::sysconf(_SC_PAGESIZE));
  const std::size_t max_frame = opts_.vnet_hdr ? kMaxSuperframe : mtu_ + 18;
  frame_size_ =
      opts_.frame_size != 0 ? align16(opts_.frame_size) : align16(max_frame + kSlotOverhead);
  block_size_ = std::max<std::size_t>(opts_.block_size, page);
  if (!v3) {
    while (block_size_ < frame_size_) {
      block_size_ *= 2;
    }
  } else {
    frame_size_ = 2048;  // V3 packs frames; the field only has to divide the block
  }
  if ((block_size_ % page) != 0 || (block_size_ & (block_size_ - 1)) != 0) {
    return make_error("af_packet {}: block size {} is not a power-of-two multiple of {}", ifname_,
                      block_size_, page);
  }
  block_count_ = opts_.block_count != 0 ? opts_.block_count : ((opts_.vnet_hdr && !v3) ? 16 : 4);
  frames_per_block_ = block_size_ / frame_size_;
  if (v3 || opts_.grow_block_count <= block_count_) {
    opts_.grow_block_count = 0;  // nothing to grow to (V3 hands out whole blocks: not supported)
  }
  WEFT_TRY_VOID(map_ring());

  sockaddr_ll sll{};
  sll.sll_family = AF_PACKET;
  sll.sll_protocol = htons(ETH_P_ALL);
  sll.sll_ifindex = static_cast<int>(ifindex);
  if (::bind(rx_fd_, reinterpret_cast<sockaddr*>(&sll), sizeof sll) != 0) {
    return make_error("af_packet {}: bind: {}", ifname_, errno_text());
  }
  if (opts_.promiscuous) {
    // Bridged frames are addressed to other hosts' MACs.
    packet_mreq mr{};
    mr.mr_ifindex = static_cast<int>(ifindex);
    mr.mr_type = PACKET_MR_PROMISC;
    if (set_opt(rx_fd_, SOL_PACKET, PACKET_ADD_MEMBERSHIP, mr) != 0) {
      return make_error("af_packet {}: promiscuous mode: {}", ifname_, errno_text());
    }
  }

  // A send-only socket (protocol 0: it receives nothing).
  tx_fd_ = ::socket(AF_PACKET, SOCK_RAW | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
  if (tx_fd_ < 0) {
    return make_error("af_packet {}: tx socket: {}", ifname_, errno_text());
  }
  if (opts_.vnet_hdr && set_opt(tx_fd_, SOL_PACKET, PACKET_VNET_HDR, 1) != 0) {
    return make_error("af_packet {}: tx PACKET_VNET_HDR: {}", ifname_, errno_text());
  }
  if (opts_.qdisc_bypass && set_opt(tx_fd_, SOL_PACKET, PACKET_QDISC_BYPASS, 1) != 0) {
    return make_error("af_packet {}: PACKET_QDISC_BYPASS: {}", ifname_, errno_text());
  }
  sockaddr_ll tx{};
  tx.sll_family = AF_PACKET;
  tx.sll_ifindex = static_cast<int>(ifindex);
  if (::bind(tx_fd_, reinterpret_cast<sockaddr*>(&tx), sizeof tx) != 0) {
    return make_error("af_packet {}: tx bind: {}", ifname_, errno_text());
  }
  const int sz = 4 << 20;
  if (set_opt(tx_fd_, SOL_SOCKET, SO_SNDBUFFORCE, sz) != 0) {
    (void)set_opt(tx_fd_, SOL_SOCKET, SO_SNDBUF, sz);
  }

  arena_.resize(kArenaBytes);
  vnet_out_.resize(kMaxBatch);
  return {};
}

Result<void> AfPacketDatapath::map_ring() {
  const bool v3 = opts_.ring == AfPacketOptions::Ring::v3;
  slot_count_ = v3 ? 0 : frames_per_block_ * block_count_;
  int rc = 0;
  if (v3) {
    tpacket_req3 req{};
    req.tp_block_size = static_cast<unsigned>(block_size_);
    req.tp_block_nr = static_cast<unsigned>(block_count_);
    req.tp_frame_size = static_cast<unsigned>(frame_size_);
    req.tp_frame_nr = static_cast<unsigned>(frames_per_block_ * block_count_);
    req.tp_retire_blk_tov = std::max<std::uint32_t>(1, opts_.block_timeout_ms);
    rc = set_opt(rx_fd_, SOL_PACKET, PACKET_RX_RING, req);
  } else {
    tpacket_req req{};
    req.tp_block_size = static_cast<unsigned>(block_size_);
    req.tp_block_nr = static_cast<unsigned>(block_count_);
    req.tp_frame_size = static_cast<unsigned>(frame_size_);
    req.tp_frame_nr = static_cast<unsigned>(slot_count_);
    rc = set_opt(rx_fd_, SOL_PACKET, PACKET_RX_RING, req);
  }
  if (rc != 0) {
    return make_error("af_packet {}: PACKET_RX_RING ({} blocks of {}, slot {}): {}", ifname_, block_count_, block_size_,
                      frame_size_, errno_text());
  }
  ring_bytes_ = block_size_ * block_count_;
  void* m = ::mmap(nullptr, ring_bytes_, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_POPULATE, rx_fd_, 0);
  if (m == MAP_FAILED) {
    auto e = make_error("af_packet {}: mmap {} bytes: {}", ifname_, ring_bytes_, errno_text());
    tpacket_req none{};
    (void)set_opt(rx_fd_, SOL_PACKET, PACKET_RX_RING, none);  // so that another size may be asked for
    ring_bytes_ = 0;
    return e;
  }
  ring_ = static_cast<std::uint8_t*>(m);
  return {};
}

void AfPacketDatapath::grow_ring() {
  grow_pending_ = false;
  const std::size_t big = std::exchange(opts_.grow_block_count, 0);  // once, whatever happens
  // NB: the kernel refuses a new ring while the old one is mapped or exists, so: unmap, free
  // (PACKET_RX_RING with no blocks), ask for the bigger one, map it. Frames arriving in between
  // take the socket's ordinary receive queue; they are read off and counted as dropped below.
  ::munmap(ring_, ring_bytes_);
  ring_ = nullptr;
  ring_bytes_ = 0;
  tpacket_req none{};
  (void)set_opt(rx_fd_, SOL_PACKET, PACKET_RX_RING, none);
  const std::size_t small = block_count_;
  block_count_ = big;
  if (!map_ring()) {
    block_count_ = small;  // the memory the small ring had is free again
    (void)map_ring();
  }
  next_slot_ = 0;
  held_count_ = 0;
  drain_queue();
}

void AfPacketDatapath::drain_queue() {
  std::uint8_t byte = 0;
  while (::recv(rx_fd_, &byte, 1, MSG_DONTWAIT | MSG_TRUNC) >= 0) {
    ++refused_;
  }
}

AfPacketDatapath::~AfPacketDatapath() {
  if (ring_ != nullptr) {
    ::munmap(ring_, ring_bytes_);
  }
  if (rx_fd_ >= 0) {
    ::close(rx_fd_);
  }
  if (tx_fd_ >= 0) {
    ::close(tx_fd_);
  }
}

void AfPacketDatapath::release_previous() {
  if (opts_.ring == AfPacketOptions::Ring::v3) {
    for (std::size_t k = 1; k <= done_blocks_; ++k) {
      const std::size_t b = (cur_block_ + block_count_ - k) % block_count_;
      auto* desc = reinterpret_cast<tpacket_block_desc*>(ring_ + b * block_size_);
      store_status(&desc->hdr.bh1.block_status, TP_STATUS_KERNEL);
    }
    done_blocks_ = 0;
    return;
  }
  // NB: a superframe still being segmented occupies the newest held slot; keep
  // it.
  const std::size_t keep = gso_frame_ != nullptr ? 1 : 0;
  const std::size_t n = held_count_ - keep;
  for (std::size_t k = 0; k < n; ++k) {
    const std::size_t s = (next_slot_ + slot_count_ - held_count_ + k) % slot_count_;
    std::uint8_t* slot =
        ring_ + (s / frames_per_block_) * block_size_ + (s % frames_per_block_) * frame_size_;
    store_status(&reinterpret_cast<tpacket2_hdr*>(slot)->tp_status, TP_STATUS_KERNEL);
  }
  held_count_ = keep;
}

std::size_t AfPacketDatapath::receive(std::span<FrameView> out) {
  release_previous();
  arena_used_ = 0;
  out_count_ = 0;
  vnet_out_count_ = 0;
  if (grow_pending_ && held_count_ == 0 && ring_ != nullptr) {
    // Only when no frame waits in the ring: none is lost by the swap.
    if ((load_status(&reinterpret_cast<const tpacket2_hdr*>(slot_at(next_slot_))->tp_status) & TP_STATUS_USER) == 0) {
      grow_ring();
    }
  }
  if (ring_ == nullptr) {
    drain_queue();  // no ring could be mapped again: frames queue on the socket, and are lost
    return 0;
  }
  out = out.first(std::min(out.size(), kMaxBatch));
  out_ = out;
  if (out.empty()) {
    return 0;
  }
  if (gso_frame_ != nullptr) {
    continue_gso(out);
    if (gso_frame_ != nullptr) {
      return out_count_;
    }
  }
  return opts_.ring == AfPacketOptions::Ring::v3 ? receive_v3(out) : receive_v2(out);
}

std::size_t AfPacketDatapath::receive_v2(std::span<FrameView> out) {
  constexpr std::size_t kHdr = TPACKET_ALIGN(sizeof(tpacket2_hdr));
  while (out_count_ < out.size() && held_count_ < slot_count_) {
    std::uint8_t* slot = slot_at(next_slot_);
    auto* h = reinterpret_cast<tpacket2_hdr*>(slot);
    const std::uint32_t status = load_status(&h->tp_status);
    if ((status & TP_STATUS_USER) == 0) {
      break;
    }
    const auto* sll = reinterpret_cast<const sockaddr_ll*>(slot + kHdr);
    const Take t = take_frame(slot, kHdr, frame_size_, h->tp_mac, h->tp_snaplen, h->tp_len, status,
                              h->tp_vlan_tci, h->tp_vlan_tpid, sll->sll_pkttype, out);
    if (t == Take::full) {
      break;
    }
    next_slot_ = (next_slot_ + 1) % slot_count_;
    ++held_count_;
    if (gso_frame_ != nullptr) {
      break;  // out or the arena filled up mid-superframe
    }
  }
  if (opts_.grow_block_count != 0 && 2 * held_count_ >= slot_count_) {
    grow_pending_ = true;
  }
  return out_count_;
}

std::size_t AfPacketDatapath::receive_v3(std::span<FrameView> out) {
  constexpr std::size_t kHdr = TPACKET_ALIGN(sizeof(tpacket3_hdr));
  while (out_count_ < out.size() && done_blocks_ < block_count_) {
    std::uint8_t* block = ring_ + cur_block_ * block_size_;
    auto* desc = reinterpret_cast<tpacket_block_desc*>(block);
    if ((load_status(&desc->hdr.bh1.block_status) & TP_STATUS_USER) == 0) {
      break;
    }
    const std::size_t num = desc->hdr.bh1.num_pkts;
    if (cur_pkt_ == 0) {
      cur_offset_ = desc->hdr.bh1.offset_to_first_pkt;
    }
    if (cur_pkt_ >= num || cur_offset_ + kHdr + sizeof(sockaddr_ll) > block_size_) {
      cur_block_ = (cur_block_ + 1) % block_count_;
      cur_pkt_ = 0;
      ++done_blocks_;
      continue;
    }
    std::uint8_t* pkt = block + cur_offset_;
    auto* h = reinterpret_cast<tpacket3_hdr*>(pkt);
    const auto* sll = reinterpret_cast<const sockaddr_ll*>(pkt + kHdr);
    const Take t =
        take_frame(pkt, kHdr, block_size_ - cur_offset_, h->tp_mac, h->tp_snaplen, h->tp_len,
                   h->tp_status, h->hv1.tp_vlan_tci, h->hv1.tp_vlan_tpid, sll->sll_pkttype, out);
    if (t == Take::full) {
      break;
    }
    ++cur_pkt_;
    cur_offset_ += h->tp_next_offset;
    if (h->tp_next_offset == 0) {
      cur_pkt_ = num;  // the last packet of the block
    }
    if (gso_frame_ != nullptr) {
      break;
    }
    if (cur_pkt_ >= num) {
      // Views into this block stay valid: it is only released at the next
      // receive().
      cur_block_ = (cur_block_ + 1) % block_count_;
      cur_pkt_ = 0;
      ++done_blocks_;
    }
  }
  return out_count_;
}

AfPacketDatapath::Take AfPacketDatapath::take_frame(std::uint8_t* base, std::size_t hdr_len,
                                                    std::size_t room, std::size_t mac_off,
                                                    std::size_t snaplen, std::size_t len,
                                                    std::uint32_t status, std::uint16_t vlan_tci,
                                                    std::uint16_t vlan_tpid, std::uint8_t pkttype,
                                                    std::span<FrameView> out) {
  if (out_count_ >= out.size()) {
    return Take::full;
  }
  if (pkttype == PACKET_OUTGOING) {
    return Take::dropped;  // our own (or another local sender's) transmission,
                           // not a capture
  }
  const std::size_t vnet = opts_.vnet_hdr ? kVnetHeaderLen : 0;
  if (snaplen < len || mac_off > room || snaplen > room - mac_off || mac_off < hdr_len + vnet + 4) {
    ++refused_;  // cut short by the slot size: forwarding it would corrupt it
    return Take::dropped;
  }
  std::uint8_t* frame = base + mac_off;
  std::size_t flen = snaplen;
  VnetHeader vh;
  if (opts_.vnet_hdr) {
    vh = *parse_vnet_header(std::span<const std::uint8_t>(frame - kVnetHeaderLen, kVnetHeaderLen));
  }
  if ((status & TP_STATUS_VLAN_VALID) != 0 && flen >= 12) {
    // The driver stripped the tag into metadata (rx VLAN offload); put it back
    // where it was. NB: this overwrites the vnet header (parsed above) and/or
    // the sockaddr_ll (read already).
    std::memmove(frame - 4, frame, 12);
    frame -= 4;
    const std::uint16_t tpid =
        ((status & TP_STATUS_VLAN_TPID_VALID) != 0 && vlan_tpid != 0) ? vlan_tpid : 0x8100;
    frame[12] = static_cast<std::uint8_t>(tpid >> 8);
    frame[13] = static_cast<std::uint8_t>(tpid);
    frame[14] = static_cast<std::uint8_t>(vlan_tci >> 8);
    frame[15] = static_cast<std::uint8_t>(vlan_tci);
    flen += 4;
    if (vh.needs_csum()) {
      vh.csum_start = static_cast<std::uint16_t>(vh.csum_start + 4);
    }
  }
  const std::span<std::uint8_t> f(frame, flen);
  if (!opts_.vnet_hdr || opts_.keep_superframes || !vh.is_gso()) {
    if (opts_.vnet_hdr && !opts_.keep_superframes && !complete_checksum(f, vh)) {
      ++refused_;
      return Take::dropped;
    }
    emit(f, vh);
    return Take::taken;
  }
  const std::size_t seg_mtu = opts_.segment_mtu != 0 ? opts_.segment_mtu : mtu_;
  auto plan = plan_gso(f, vh, seg_mtu);
  if (!plan) {
    ++refused_;  // TCPv6/UFO superframes, or a header we cannot trust
    return Take::dropped;
  }
  gso_frame_ = frame;
  gso_frame_len_ = flen;
  gso_plan_ = *plan;
  gso_next_ = 0;
  continue_gso(out);
  return Take::taken;
}

void AfPacketDatapath::continue_gso(std::span<FrameView> out) {
  const std::span<const std::uint8_t> frame(gso_frame_, gso_frame_len_);
  while (gso_next_ < gso_plan_.segments && out_count_ < out.size()) {
    const std::size_t need = gso_plan_.segment_len(gso_next_);
    if (arena_used_ + need > arena_.size()) {
      return;  // pause: the next receive() continues with this segment
    }
    const std::span<std::uint8_t> dst(arena_.data() + arena_used_, arena_.size() - arena_used_);
    const std::size_t n = write_gso_segment(frame, gso_plan_, gso_next_, dst);
    if (n == 0) {
      ++refused_;
      gso_frame_ = nullptr;
      return;
    }
    emit(dst.first(n), VnetHeader{});
    arena_used_ += n;
    ++gso_next_;
  }
  if (gso_next_ >= gso_plan_.segments) {
    gso_frame_ = nullptr;
  }
}

void AfPacketDatapath::emit(std::span<const std::uint8_t> frame, const VnetHeader& vh) {
  out_[out_count_++] = FrameView{frame};
  if (opts_.vnet_hdr && opts_.keep_superframes) {
    vnet_out_[vnet_out_count_++] = vh;
  }
  ++stats_.rx_frames;
  stats_.rx_bytes += frame.size();
}

std::size_t AfPacketDatapath::send(std::span<const FrameView> frames) {
  return send_impl(frames, {});
}

std::size_t AfPacketDatapath::send_vnet(std::span<const FrameView> frames,
                                        std::span<const VnetHeader> headers) {
  if (!opts_.vnet_hdr || headers.size() != frames.size()) {
    stats_.tx_dropped += frames.size();
    return 0;
  }
  return send_impl(frames, headers);
}

std::size_t AfPacketDatapath::send_impl(std::span<const FrameView> frames,
                                        std::span<const VnetHeader> headers) {
  std::array<mmsghdr, kTxChunk> msgs;
  std::array<std::array<iovec, 2>, kTxChunk> iovs;
  std::array<std::array<std::uint8_t, kVnetHeaderLen>, kTxChunk> vnet;
  std::size_t done = 0;
  std::size_t ok = 0;
  while (done < frames.size()) {
    const std::size_t n = std::min(kTxChunk, frames.size() - done);
    for (std::size_t i = 0; i < n; ++i) {
      const auto& f = frames[done + i].data;
      msgs[i] = mmsghdr{};
      std::size_t k = 0;
      if (opts_.vnet_hdr) {
        (void)write_vnet_header(headers.empty() ? VnetHeader{} : headers[done + i], vnet[i]);
        iovs[i][k++] = iovec{vnet[i].data(), kVnetHeaderLen};
      }
      iovs[i][k++] = iovec{const_cast<std::uint8_t*>(f.data()), f.size()};
      msgs[i].msg_hdr.msg_iov = iovs[i].data();
      msgs[i].msg_hdr.msg_iovlen = k;
    }
    const int sent = ::sendmmsg(tx_fd_, msgs.data(), static_cast<unsigned>(n), 0);
    if (sent <= 0) {
      const int e = errno;
      if (sent < 0 && (e == EAGAIN || e == EWOULDBLOCK || e == ENOBUFS)) {
        stats_.tx_dropped += frames.size() - done;
        break;
      }
      // The first frame of the chunk was refused (too big, bad header...): drop
      // it, go on.
      ++stats_.tx_dropped;
      ++done;
      continue;
    }
    for (int i = 0; i < sent; ++i) {
      ++stats_.tx_frames;
      stats_.tx_bytes += frames[done + static_cast<std::size_t>(i)].data.size();
    }
    done += static_cast<std::size_t>(sent);
    ok += static_cast<std::size_t>(sent);
  }
  return ok;
}

DatapathStats AfPacketDatapath::stats() const {
  tpacket_stats_v3 ks{};
  socklen_t len =
      opts_.ring == AfPacketOptions::Ring::v3 ? sizeof(tpacket_stats_v3) : sizeof(tpacket_stats);
  if (::getsockopt(rx_fd_, SOL_PACKET, PACKET_STATISTICS, &ks, &len) == 0) {
    kernel_drops_ += ks.tp_drops;
    if (ks.tp_drops != 0 && opts_.grow_block_count != 0) {
      grow_pending_ = true;
    }
  }
  DatapathStats s = stats_;
  s.rx_dropped += kernel_drops_ + refused_;
  return s;
}

}  // namespace weft::datapath
