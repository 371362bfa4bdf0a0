#include "weft/datapath/udp_underlay.hpp"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <netinet/ip.h>
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

/// Preallocated receive arena and message headers; sized once in open().
struct UdpUnderlay::Buffers {
  std::unique_ptr<std::uint8_t[]> arena =
      std::make_unique_for_overwrite<std::uint8_t[]>(kMaxBatch * kSlotSize);
  std::array<mmsghdr, kMaxBatch> rx_msgs{};
  std::array<iovec, kMaxBatch> rx_iov{};
  std::array<sockaddr_in, kMaxBatch> rx_addr{};
  std::array<mmsghdr, kMaxBatch> tx_msgs{};
  std::array<iovec, kMaxBatch> tx_iov{};
  std::array<sockaddr_in, kMaxBatch> tx_addr{};
};

Result<std::unique_ptr<UdpUnderlay>> UdpUnderlay::open(Ipv4 bind_ip, std::uint16_t port) {
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
  std::unique_ptr<UdpUnderlay> u(
      new UdpUnderlay(nondf_fd.release(), df_fd.release(), ep.release(), from_sockaddr(addr)));
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
    t.msg_iov = &buf_->tx_iov[i];
    t.msg_iovlen = 1;
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

std::size_t UdpUnderlay::receive(std::span<DatagramIn> out) {
  const std::size_t want = std::min(out.size(), kMaxBatch);
  std::size_t slots = 0;
  const int order[2] = {df_first_ ? df_fd_ : nondf_fd_, df_first_ ? nondf_fd_ : df_fd_};
  df_first_ = !df_first_;
  for (int fd : order) {
    if (slots < want) {
      slots += receive_from(fd, slots, want - slots);
    }
  }
  std::size_t n = 0;
  for (std::size_t i = 0; i < slots; ++i) {
    const auto& m = buf_->rx_msgs[i];
    if ((m.msg_hdr.msg_flags & MSG_TRUNC) != 0) {
      continue;  // cannot happen with 64 KiB slots; never hand out a cut datagram
    }
    out[n++] =
        DatagramIn{from_sockaddr(buf_->rx_addr[i]),
                   std::span<const std::uint8_t>(buf_->arena.get() + i * kSlotSize, m.msg_len)};
    ++stats_.rx_datagrams;
    stats_.rx_bytes += m.msg_len;
  }
  return n;
}

std::size_t UdpUnderlay::send(std::span<const DatagramOut> batch, SendError* err) {
  std::size_t i = 0;
  while (i < batch.size()) {
    const bool df = batch[i].df;
    std::size_t j = i;
    while (j < batch.size() && j - i < kMaxBatch && batch[j].df == df) {
      auto k = j - i;
      buf_->tx_addr[k] = to_sockaddr(batch[j].to);
      // NB: sendmsg does not write through iov_base; the cast only satisfies the C API.
      buf_->tx_iov[k].iov_base = const_cast<std::uint8_t*>(batch[j].data.data());
      buf_->tx_iov[k].iov_len = batch[j].data.size();
      ++j;
    }
    const int fd = df ? df_fd_ : nondf_fd_;
    std::size_t done = 0;
    while (done < j - i) {
      // NB: sendmmsg reports an error only when the first message of the call fails; after a
      // partial success the next call starts at the failed message and returns its errno.
      const int n = ::sendmmsg(fd, &buf_->tx_msgs[done], static_cast<unsigned>(j - i - done), 0);
      if (n < 0) {
        if (errno == EINTR) {
          continue;
        }
        const int e = errno;
        ++stats_.tx_errors;
        if (err != nullptr) {
          const auto& d = batch[i + done];
          *err = SendError{i + done, e, e == EMSGSIZE ? path_mtu(d.to) : 0};
        }
        return i + done;
      }
      for (int k = 0; k < n; ++k) {
        ++stats_.tx_datagrams;
        stats_.tx_bytes += buf_->tx_iov[done + static_cast<std::size_t>(k)].iov_len;
      }
      done += static_cast<std::size_t>(n);
    }
    i = j;
  }
  return batch.size();
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
