#include "weft/datapath/udp_underlay.hpp"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <netinet/ip.h>
#include <netinet/udp.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <array>
#include <cerrno>
#include <cstring>
#include <utility>

namespace weft::datapath {

namespace {

sockaddr_in to_sockaddr(UdpEndpoint ep) {
  sockaddr_in sa{};
  sa.sin_family = AF_INET;
  sa.sin_port = htons(ep.port);
  sa.sin_addr.s_addr = htonl(ep.ip.value());
  return sa;
}

UdpEndpoint from_sockaddr(const sockaddr_in& sa) {
  return UdpEndpoint{Ipv4(ntohl(sa.sin_addr.s_addr)), ntohs(sa.sin_port)};
}

Error sys_error(const char* what) {
  return make_error("udp underlay: {}: {}", what, std::strerror(errno));
}

/// Closes an fd on scope exit unless released.
class FdGuard {
 public:
  explicit FdGuard(int fd) : fd_(fd) {}
  ~FdGuard() {
    if (fd_ >= 0) {
      ::close(fd_);
    }
  }
  FdGuard(const FdGuard&) = delete;
  FdGuard& operator=(const FdGuard&) = delete;
  int get() const { return fd_; }
  int release() { return std::exchange(fd_, -1); }

 private:
  int fd_;
};

void set_buffer(int fd, int force_opt, int opt, int bytes) {
  // NB: *BUFFORCE ignores net.core.[rw]mem_max but needs CAP_NET_ADMIN; without it fall back to
  // the capped option. A smaller buffer is not fatal, only lossier under bursts.
  if (::setsockopt(fd, SOL_SOCKET, force_opt, &bytes, sizeof bytes) != 0) {
    (void)::setsockopt(fd, SOL_SOCKET, opt, &bytes, sizeof bytes);
  }
}

Result<int> make_socket(sockaddr_in bind_addr, int pmtu_mode) {
  FdGuard fd(::socket(AF_INET, SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0));
  if (fd.get() < 0) {
    return sys_error("socket");
  }
  const int one = 1;
  if (::setsockopt(fd.get(), SOL_SOCKET, SO_REUSEPORT, &one, sizeof one) != 0) {
    return sys_error("SO_REUSEPORT");
  }
  if (::setsockopt(fd.get(), IPPROTO_IP, IP_MTU_DISCOVER, &pmtu_mode, sizeof pmtu_mode) != 0) {
    return sys_error("IP_MTU_DISCOVER");
  }
  set_buffer(fd.get(), SO_RCVBUFFORCE, SO_RCVBUF, UdpUnderlay::kSocketBuffer);
  set_buffer(fd.get(), SO_SNDBUFFORCE, SO_SNDBUF, UdpUnderlay::kSocketBuffer);
  if (::bind(fd.get(), reinterpret_cast<const sockaddr*>(&bind_addr), sizeof bind_addr) != 0) {
    return sys_error("bind");
  }
  return fd.release();
}

}  // namespace

#ifndef UDP_SEGMENT
#define UDP_SEGMENT 103
#endif
#ifndef UDP_GRO
#define UDP_GRO 104
#endif

namespace {
constexpr std::size_t kMaxGsoSegments = 64;       // UDP_MAX_SEGMENTS
constexpr std::size_t kMaxUdpPayload = 65507;     // 65535 - IPv4 - UDP headers
constexpr std::size_t kCmsgSpace = CMSG_SPACE(sizeof(int));
}  // namespace

/// Preallocated receive arena and message headers; sized once in open().
struct UdpUnderlay::Buffers {
  std::unique_ptr<std::uint8_t[]> arena =
      std::make_unique_for_overwrite<std::uint8_t[]>(kMaxBatch * kSlotSize);
  std::array<mmsghdr, kMaxBatch> rx_msgs{};
  std::array<iovec, kMaxBatch> rx_iov{};
  std::array<sockaddr_in, kMaxBatch> rx_addr{};
  alignas(cmsghdr) std::array<std::array<std::uint8_t, kCmsgSpace>, kMaxBatch> rx_ctrl{};
  std::array<std::size_t, kMaxBatch> rx_seg{};  ///< GRO segment size per slot (0 = one datagram)
  std::array<mmsghdr, kMaxBatch> tx_msgs{};
  std::array<iovec, kMaxBatch> tx_iov{};
  std::array<sockaddr_in, kMaxBatch> tx_addr{};
  alignas(cmsghdr) std::array<std::array<std::uint8_t, kCmsgSpace>, kMaxBatch> tx_ctrl{};
  std::array<std::size_t, kMaxBatch> tx_first{};  ///< batch index of each message's first datagram
  std::array<std::size_t, kMaxBatch> tx_count{};  ///< datagrams in each message
};

Result<std::unique_ptr<UdpUnderlay>> UdpUnderlay::open(Ipv4 bind_ip, std::uint16_t port, Offloads off) {
  sockaddr_in addr = to_sockaddr(UdpEndpoint{bind_ip, port});
  auto nondf = make_socket(addr, IP_PMTUDISC_DONT);
  if (!nondf) {
    return nondf.error();
  }
  FdGuard nondf_fd(*nondf);
  socklen_t len = sizeof addr;
  if (::getsockname(nondf_fd.get(), reinterpret_cast<sockaddr*>(&addr), &len) != 0) {
    return sys_error("getsockname");
  }
  // The DF socket joins the port the first one got (the ephemeral one when port was 0).
  auto df = make_socket(addr, IP_PMTUDISC_DO);
  if (!df) {
    return df.error();
  }
  FdGuard df_fd(*df);
  FdGuard ep(::epoll_create1(EPOLL_CLOEXEC));
  if (ep.get() < 0) {
    return sys_error("epoll_create1");
  }
  for (int fd : {nondf_fd.get(), df_fd.get()}) {
    epoll_event ev{};
    ev.events = EPOLLIN;
    ev.data.fd = fd;
    if (::epoll_ctl(ep.get(), EPOLL_CTL_ADD, fd, &ev) != 0) {
      return sys_error("epoll_ctl");
    }
  }
  bool gro = false;
  if (off.gro) {
    const int one = 1;
    gro = ::setsockopt(nondf_fd.get(), IPPROTO_UDP, UDP_GRO, &one, sizeof one) == 0 &&
          ::setsockopt(df_fd.get(), IPPROTO_UDP, UDP_GRO, &one, sizeof one) == 0;
  }
  std::unique_ptr<UdpUnderlay> u(
      new UdpUnderlay(nondf_fd.release(), df_fd.release(), ep.release(), from_sockaddr(addr)));
  u->gro_ = gro;
  u->gso_ = off.gso;
  return u;
}

UdpUnderlay::UdpUnderlay(int nondf_fd, int df_fd, int epoll_fd, UdpEndpoint local)
    : nondf_fd_(nondf_fd),
      df_fd_(df_fd),
      epoll_fd_(epoll_fd),
      local_(local),
      buf_(std::make_unique<Buffers>()) {
  for (std::size_t i = 0; i < kMaxBatch; ++i) {
    buf_->rx_iov[i].iov_base = buf_->arena.get() + i * kSlotSize;
    buf_->rx_iov[i].iov_len = kSlotSize;
    auto& h = buf_->rx_msgs[i].msg_hdr;
    h.msg_iov = &buf_->rx_iov[i];
    h.msg_iovlen = 1;
    h.msg_name = &buf_->rx_addr[i];
    auto& t = buf_->tx_msgs[i].msg_hdr;
    t.msg_name = &buf_->tx_addr[i];
    t.msg_namelen = sizeof(sockaddr_in);
  }
}

UdpUnderlay::~UdpUnderlay() {
  for (int fd : {epoll_fd_, df_fd_, nondf_fd_}) {
    if (fd >= 0) {
      ::close(fd);
    }
  }
}

std::size_t UdpUnderlay::receive_from(int fd, std::size_t first_slot, std::size_t count) {
  for (std::size_t i = first_slot; i < first_slot + count; ++i) {
    buf_->rx_msgs[i].msg_hdr.msg_namelen = sizeof(sockaddr_in);
    buf_->rx_msgs[i].msg_hdr.msg_flags = 0;
    buf_->rx_msgs[i].msg_hdr.msg_control = gro_ ? buf_->rx_ctrl[i].data() : nullptr;
    buf_->rx_msgs[i].msg_hdr.msg_controllen = gro_ ? kCmsgSpace : 0;
    buf_->rx_msgs[i].msg_len = 0;
  }
  for (;;) {
    const int n = ::recvmmsg(fd, &buf_->rx_msgs[first_slot], static_cast<unsigned>(count),
                             MSG_DONTWAIT, nullptr);
    if (n >= 0) {
      return static_cast<std::size_t>(n);
    }
    if (errno != EINTR) {
      // EAGAIN: nothing queued. Anything else (e.g. a pending ICMP error surfacing as
      // ECONNREFUSED) consumed nothing; the next call reads on.
      return 0;
    }
  }
}

std::size_t UdpUnderlay::drain_pending(std::span<DatagramIn> out) {
  std::size_t n = 0;
  while (n < out.size() && pending_slot_ < pending_end_) {
    const std::size_t i = pending_slot_;
    const auto& m = buf_->rx_msgs[i];
    const std::uint8_t* base = buf_->arena.get() + i * kSlotSize;
    const std::size_t len = m.msg_len;
    if ((m.msg_hdr.msg_flags & MSG_TRUNC) != 0 || len == 0) {
      // A cut datagram cannot happen with 64 KiB slots; never hand one out. (Empty datagrams
      // carry nothing for the sleeve either.)
      ++pending_slot_;
      pending_off_ = 0;
      continue;
    }
    const std::size_t seg = buf_->rx_seg[i] == 0 ? len : buf_->rx_seg[i];
    const std::size_t take = std::min(seg, len - pending_off_);
    out[n++] = DatagramIn{from_sockaddr(buf_->rx_addr[i]), std::span<const std::uint8_t>(base + pending_off_, take)};
    ++stats_.rx_datagrams;
    stats_.rx_bytes += take;
    pending_off_ += take;
    if (pending_off_ >= len) {
      ++pending_slot_;
      pending_off_ = 0;
    }
  }
  return n;
}

std::size_t UdpUnderlay::receive(std::span<DatagramIn> out) {
  if (pending_slot_ < pending_end_) return drain_pending(out);
  const std::size_t want = std::min(out.size(), kMaxBatch);
  std::size_t slots = 0;
  const int order[2] = {df_first_ ? df_fd_ : nondf_fd_, df_first_ ? nondf_fd_ : df_fd_};
  df_first_ = !df_first_;
  for (int fd : order) {
    if (slots < want) {
      slots += receive_from(fd, slots, want - slots);
    }
  }
  for (std::size_t i = 0; i < slots; ++i) {
    buf_->rx_seg[i] = 0;
    if (!gro_) continue;
    auto& h = buf_->rx_msgs[i].msg_hdr;
    for (cmsghdr* c = CMSG_FIRSTHDR(&h); c != nullptr; c = CMSG_NXTHDR(&h, c)) {
      if (c->cmsg_level == IPPROTO_UDP && c->cmsg_type == UDP_GRO && c->cmsg_len >= CMSG_LEN(sizeof(int))) {
        int seg = 0;
        std::memcpy(&seg, CMSG_DATA(c), sizeof seg);
        if (seg > 0 && static_cast<std::size_t>(seg) < buf_->rx_msgs[i].msg_len) {
          buf_->rx_seg[i] = static_cast<std::size_t>(seg);
          ++stats_.rx_gro_buffers;
        }
      }
    }
  }
  pending_slot_ = 0;
  pending_end_ = slots;
  pending_off_ = 0;
  return drain_pending(out);
}

std::size_t UdpUnderlay::send(std::span<const DatagramOut> batch, SendError* err) {
  std::size_t i = 0;
  while (i < batch.size()) {
    const bool df = batch[i].df;
    std::size_t j = i;
    while (j < batch.size() && j - i < kMaxBatch && batch[j].df == df) ++j;
    const std::size_t sent = send_run(df ? df_fd_ : nondf_fd_, batch.subspan(i, j - i), i, err);
    if (sent < j - i) return i + sent;
    i = j;
  }
  return batch.size();
}

std::size_t UdpUnderlay::send_run(int fd, std::span<const DatagramOut> run, std::size_t base, SendError* err) {
  // Pack the run into messages: with GSO, consecutive datagrams to the same peer whose sizes
  // equal the first's (the last may be shorter) share a message with a UDP_SEGMENT cmsg.
  std::size_t done = 0;  // datagrams of `run` sent
  while (done < run.size()) {
    std::size_t msgs = 0;
    std::size_t k = done;
    while (k < run.size() && msgs < kMaxBatch) {
      const auto& d = run[k];
      const std::size_t seg = d.data.size();
      std::size_t count = 1;
      if (gso_ && seg > 0 && seg <= gso_max_) {
        std::size_t total = seg;
        while (k + count < run.size() && count < kMaxGsoSegments) {
          const auto& e = run[k + count];
          if (e.to != d.to || e.data.size() > seg || e.data.empty() || total + e.data.size() > kMaxUdpPayload) break;
          total += e.data.size();
          ++count;
          if (e.data.size() < seg) break;  // a shorter one ends the train
        }
      }
      auto& h = buf_->tx_msgs[msgs].msg_hdr;
      buf_->tx_addr[msgs] = to_sockaddr(d.to);
      h.msg_iov = &buf_->tx_iov[k];
      h.msg_iovlen = count;
      for (std::size_t q = 0; q < count; ++q) {
        // NB: sendmsg does not write through iov_base; the cast only satisfies the C API.
        buf_->tx_iov[k + q].iov_base = const_cast<std::uint8_t*>(run[k + q].data.data());
        buf_->tx_iov[k + q].iov_len = run[k + q].data.size();
      }
      if (count > 1) {
        h.msg_control = buf_->tx_ctrl[msgs].data();
        h.msg_controllen = kCmsgSpace;
        cmsghdr* c = CMSG_FIRSTHDR(&h);
        c->cmsg_level = IPPROTO_UDP;
        c->cmsg_type = UDP_SEGMENT;
        c->cmsg_len = CMSG_LEN(sizeof(std::uint16_t));
        const auto seg16 = static_cast<std::uint16_t>(seg);
        std::memcpy(CMSG_DATA(c), &seg16, sizeof seg16);
        h.msg_controllen = CMSG_SPACE(sizeof(std::uint16_t));
      } else {
        h.msg_control = nullptr;
        h.msg_controllen = 0;
      }
      buf_->tx_first[msgs] = k;
      buf_->tx_count[msgs] = count;
      ++msgs;
      k += count;
    }
    // Send the messages; NB: sendmmsg reports an error only when the first message of the call
    // fails; after a partial success the next call starts at the failed message.
    std::size_t m = 0;
    while (m < msgs) {
      const int n = ::sendmmsg(fd, &buf_->tx_msgs[m], static_cast<unsigned>(msgs - m), 0);
      if (n < 0) {
        if (errno == EINTR) continue;
        const int e = errno;
        const std::size_t first = buf_->tx_first[m];
        if (buf_->tx_count[m] > 1) {
          // The kernel would not segment this train: EIO = no checksum offload on the route's
          // device (turn GSO off); EINVAL/EMSGSIZE = a segment too big for the path (no GSO at
          // this size or above). Resend from its first datagram one by one, which also reports
          // a real EMSGSIZE for the sleeve's PMTU discovery.
          if (e == EIO) gso_ = false;
          else gso_max_ = std::min(gso_max_, run[first].data.size() - 1);
          done = first;
          goto repack;
        }
        ++stats_.tx_errors;
        if (err != nullptr) {
          const auto& d = run[first];
          *err = SendError{base + first, e, e == EMSGSIZE ? path_mtu(d.to) : 0};
        }
        return first;
      }
      for (int q = 0; q < n; ++q) {
        const std::size_t mi = m + static_cast<std::size_t>(q);
        const std::size_t first = buf_->tx_first[mi];
        if (buf_->tx_count[mi] > 1) ++stats_.tx_gso_sends;
        for (std::size_t r = 0; r < buf_->tx_count[mi]; ++r) {
          ++stats_.tx_datagrams;
          stats_.tx_bytes += run[first + r].data.size();
        }
      }
      m += static_cast<std::size_t>(n);
    }
    done = k;
  repack:;
  }
  return run.size();
}

int UdpUnderlay::path_mtu(UdpEndpoint to) const {
  FdGuard fd(::socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0));
  if (fd.get() < 0) {
    return 0;
  }
  // Bind to our address (port 0) so that source-based routing picks the route our sends take.
  sockaddr_in src = to_sockaddr(UdpEndpoint{local_.ip, 0});
  sockaddr_in dst = to_sockaddr(to);
  int mtu = 0;
  socklen_t len = sizeof mtu;
  if (::bind(fd.get(), reinterpret_cast<const sockaddr*>(&src), sizeof src) != 0 ||
      ::connect(fd.get(), reinterpret_cast<const sockaddr*>(&dst), sizeof dst) != 0 ||
      ::getsockopt(fd.get(), IPPROTO_IP, IP_MTU, &mtu, &len) != 0) {
    return 0;
  }
  return mtu;
}

}  // namespace weft::datapath
