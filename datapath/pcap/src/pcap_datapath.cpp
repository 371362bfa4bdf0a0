#include "weft/datapath/pcap_datapath.hpp"

#include <linux/if_packet.h>
#include <net/ethernet.h>
#include <net/if.h>
#include <pcap/pcap.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <array>
#include <cerrno>
#include <cstring>
#include <utility>

namespace weft::datapath {

namespace {

/// Closes a pcap handle on scope exit unless released.
struct PcapCloser {
  void operator()(pcap_t* p) const { pcap_close(p); }
};
using PcapPtr = std::unique_ptr<pcap_t, PcapCloser>;

Error pcap_failure(const std::string& ifname, const char* what, pcap_t* p) {
  return make_error("pcap {}: {}: {}", ifname, what, pcap_geterr(p));
}

/// A send-only packet socket on `ifname` (protocol 0: it receives nothing), or -1.
int open_tx_socket(const std::string& ifname) {
  const unsigned ifindex = if_nametoindex(ifname.c_str());
  if (ifindex == 0) return -1;
  const int fd = socket(AF_PACKET, SOCK_RAW | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
  if (fd < 0) return -1;
  sockaddr_ll sll{};
  sll.sll_family = AF_PACKET;
  sll.sll_ifindex = static_cast<int>(ifindex);
  sll.sll_protocol = 0;
  if (bind(fd, reinterpret_cast<sockaddr*>(&sll), sizeof sll) != 0) {
    close(fd);
    return -1;
  }
  // NB: no qdisc and, above all, no packet taps: our own capture socket must not be handed a copy
  // of every frame we inject (it would have to discard them all, and its ring would overflow).
  int one = 1;
  (void)setsockopt(fd, SOL_PACKET, PACKET_QDISC_BYPASS, &one, sizeof one);
  int sz = 4 << 20;
  if (setsockopt(fd, SOL_SOCKET, SO_SNDBUFFORCE, &sz, sizeof sz) != 0) {
    (void)setsockopt(fd, SOL_SOCKET, SO_SNDBUF, &sz, sizeof sz);
  }
  return fd;
}

}  // namespace

Result<std::unique_ptr<PcapDatapath>> PcapDatapath::open(std::string ifname, int bufsz_mb) {
  char errbuf[PCAP_ERRBUF_SIZE] = {};
  PcapPtr p(pcap_create(ifname.c_str(), errbuf));
  if (!p) {
    return make_error("pcap {}: create: {}", ifname, errbuf);
  }
  if (pcap_set_snaplen(p.get(), kSnapLen) != 0) {
    return pcap_failure(ifname, "set_snaplen", p.get());
  }
  // Bridged frames are addressed to other hosts' MACs.
  if (pcap_set_promisc(p.get(), 1) != 0) {
    return pcap_failure(ifname, "set_promisc", p.get());
  }
  // Deliver each frame as it arrives instead of when a kernel block fills: latency matters more
  // than wakeups here, and receive() batches whatever has accumulated anyway. It also gets us the
  // TPACKET_V2 ring that makes the selectable fd exact (see the header).
  if (pcap_set_immediate_mode(p.get(), 1) != 0) {
    return pcap_failure(ifname, "set_immediate_mode", p.get());
  }
  if (bufsz_mb > 0 && bufsz_mb <= 2047 && pcap_set_buffer_size(p.get(), bufsz_mb << 20) != 0) {
    return pcap_failure(ifname, "set_buffer_size", p.get());
  }
  const int rc = pcap_activate(p.get());
  if (rc < 0) {
    // NB: for the PCAP_ERROR_* codes with no detail in the error buffer, fall back to the status
    // text.
    const char* detail = pcap_geterr(p.get());
    return make_error("pcap {}: activate: {}", ifname,
                      (detail != nullptr && detail[0] != '\0') ? detail : pcap_statustostr(rc));
  }
  if (pcap_setdirection(p.get(), PCAP_D_IN) != 0) {
    return pcap_failure(ifname, "setdirection(in)", p.get());
  }
  if (pcap_setnonblock(p.get(), 1, errbuf) != 0) {
    return make_error("pcap {}: setnonblock: {}", ifname, errbuf);
  }
  const int fd = pcap_get_selectable_fd(p.get());
  if (fd < 0) {
    return make_error("pcap {}: no selectable fd", ifname);
  }
#ifdef PACKET_IGNORE_OUTGOING
  // libpcap filters outgoing frames in userspace; the kernel can skip them altogether.
  {
    int one = 1;
    (void)setsockopt(fd, SOL_PACKET, PACKET_IGNORE_OUTGOING, &one, sizeof one);
  }
#endif
  const int tx_fd = open_tx_socket(ifname);
  std::unique_ptr<PcapDatapath> d(new PcapDatapath(std::move(ifname), p.release(), fd, tx_fd));
  return d;
}

PcapDatapath::PcapDatapath(std::string ifname, pcap_t* p, int fd, int tx_fd)
    : ifname_(std::move(ifname)),
      pcap_(p),
      fd_(fd),
      tx_fd_(tx_fd),
      arena_(std::make_unique_for_overwrite<std::uint8_t[]>(kMaxBatch * kSnapLen)) {}

PcapDatapath::~PcapDatapath() {
  if (tx_fd_ >= 0) {
    close(tx_fd_);
  }
  if (pcap_ != nullptr) {
    pcap_close(pcap_);
  }
}

void PcapDatapath::on_packet(unsigned char* user, const pcap_pkthdr* h,
                             const unsigned char* bytes) {
  auto* self = reinterpret_cast<PcapDatapath*>(user);
  if (h->caplen < h->len || h->caplen > static_cast<bpf_u_int32>(kSnapLen) ||
      self->count_ >= self->out_.size()) {
    // A cut frame would be forwarded corrupt; better to drop and count it.
    ++self->truncated_;
    return;
  }
  std::uint8_t* dst = self->arena_.get() + self->arena_used_;
  std::memcpy(dst, bytes, h->caplen);
  self->out_[self->count_++] = FrameView{std::span<const std::uint8_t>(dst, h->caplen)};
  self->arena_used_ += h->caplen;
  ++self->stats_.rx_frames;
  self->stats_.rx_bytes += h->caplen;
}

std::size_t PcapDatapath::receive(std::span<FrameView> out) {
  // NB: each frame is at most kSnapLen bytes and at most kMaxBatch are taken, so the arena can
  // never overflow; on_packet also refuses anything beyond out_.size() as a backstop.
  if (out.empty()) {
    return 0;
  }
  out_ = out.first(std::min(out.size(), kMaxBatch));
  count_ = 0;
  arena_used_ = 0;
  while (count_ < out_.size()) {
    const int n = pcap_dispatch(pcap_, static_cast<int>(out_.size() - count_),
                                &PcapDatapath::on_packet, reinterpret_cast<unsigned char*>(this));
    if (n <= 0) {
      break;  // 0: nothing more ready; < 0: an error (e.g. the interface went away)
    }
  }
  out_ = {};
  return count_;
}

std::size_t PcapDatapath::send(std::span<const FrameView> frames) {
  if (tx_fd_ >= 0) {
    constexpr std::size_t kChunk = 64;
    std::array<mmsghdr, kChunk> msgs;
    std::array<iovec, kChunk> iovs;
    std::size_t done = 0, ok = 0;
    while (done < frames.size()) {
      const std::size_t n = std::min(kChunk, frames.size() - done);
      for (std::size_t i = 0; i < n; ++i) {
        const auto& f = frames[done + i].data;
        iovs[i] = iovec{const_cast<std::uint8_t*>(f.data()), f.size()};
        msgs[i] = mmsghdr{};
        msgs[i].msg_hdr.msg_iov = &iovs[i];
        msgs[i].msg_hdr.msg_iovlen = 1;
      }
      const int sent = sendmmsg(tx_fd_, msgs.data(), static_cast<unsigned>(n), 0);
      if (sent <= 0) {
        // The first frame of the chunk failed (too big, queue full...): drop it, go on.
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
  std::size_t accepted = 0;
  for (std::size_t i = 0; i < frames.size(); ++i) {
    const auto& f = frames[i];
    errno = 0;
    if (pcap_inject(pcap_, f.data.data(), f.data.size()) >= 0) {
      ++accepted;
      ++stats_.tx_frames;
      stats_.tx_bytes += f.data.size();
      continue;
    }
    const int e = errno;
    ++stats_.tx_dropped;
    if (e == EAGAIN || e == EWOULDBLOCK || e == ENOBUFS) {
      stats_.tx_dropped += frames.size() - i - 1;
      break;
    }
  }
  return accepted;
}

DatapathStats PcapDatapath::stats() const {
  DatapathStats s = stats_;
  s.rx_dropped += truncated_;
  pcap_stat ps{};
  if (pcap_stats(pcap_, &ps) == 0) {
    s.rx_dropped += ps.ps_drop + ps.ps_ifdrop;
  }
  return s;
}

}  // namespace weft::datapath
