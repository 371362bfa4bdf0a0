#include "weft/datapath/dpdk_datapath.hpp"

#include <arpa/inet.h>
#include <linux/filter.h>
#include <linux/if_ether.h>
#include <linux/if_packet.h>
#include <net/if.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <sys/timerfd.h>
#include <unistd.h>

#include <rte_config.h>
#include <rte_eal.h>
#include <rte_errno.h>
#include <rte_ethdev.h>
#include <rte_lcore.h>
#include <rte_mbuf.h>

#include <fmt/format.h>
#include <fmt/ranges.h>

#include <cstring>
#include <fstream>
#include <mutex>
#include <string>

namespace weft::datapath {

namespace {

std::vector<std::string> g_eal_args;
bool g_eal_ok = false;
std::string g_eal_error;
std::mutex g_eal_mu;
int g_vdev_seq = 0;

bool host_has_free_hugepages() {
  std::ifstream in("/proc/meminfo");
  std::string key;
  long value = 0;
  while (in >> key >> value) {
    if (key == "HugePages_Free:") return value > 0;
    in.ignore(256, '\n');
  }
  return false;
}

Result<void> init_eal(const DpdkOptions& o) {
  std::lock_guard lock(g_eal_mu);
  if (g_eal_ok) return {};
  if (!g_eal_error.empty()) return make_error("{}", g_eal_error);
  std::vector<std::string> args{"weaver-dpdk", "-l", "0", "--no-pci", "--no-shconf", "--file-prefix",
                                fmt::format("weft-{}", ::getpid()), "-m", "256", "--log-level", "lib.*:error",
                                "--log-level", "pmd.*:error"};
  if (!host_has_free_hugepages()) args.push_back("--no-huge");
  for (const auto& a : o.eal_args) args.push_back(a);
  std::vector<char*> argv;
  for (auto& a : args) argv.push_back(a.data());
  argv.push_back(nullptr);
  int rc = rte_eal_init(static_cast<int>(args.size()), argv.data());
  if (rc < 0) {
    g_eal_error = fmt::format("DPDK EAL init failed: {} (args: {})", rte_strerror(rte_errno), fmt::join(args, " "));
    return make_error("{}", g_eal_error);
  }
  g_eal_args = args;
  g_eal_ok = true;
  return {};
}

}  // namespace

struct DpdkDatapath::Impl {
  std::uint16_t port = 0;
  rte_mempool* pool = nullptr;
  std::vector<rte_mbuf*> rx;       ///< the mbufs of the last receive(), freed at the next
  std::size_t rx_held = 0;
  std::vector<rte_mbuf*> tx;
  unsigned burst = 64;
  std::string vdev_name;
};

const std::vector<std::string>& DpdkDatapath::eal_args_used() { return g_eal_args; }

Result<std::unique_ptr<DpdkDatapath>> DpdkDatapath::open(const DpdkOptions& o) {
  WEFT_TRY_VOID(init_eal(o));
  auto impl = std::make_unique<Impl>();
  impl->burst = o.burst == 0 ? 64 : std::min(o.burst, 512u);
  int seq = g_vdev_seq++;
  std::string vdev = o.vdev;
  if (vdev.empty()) {
    vdev = fmt::format("net_af_packet{},iface={},qpairs=1,framecnt=4096,framesz=2048,blocksz=4096,qdisc_bypass=1", seq,
                       o.ifname);
  }
  impl->vdev_name = vdev.substr(0, vdev.find(','));
  std::uint16_t port = 0;
  // A port the EAL probed already (a NIC allowed with -a, named by its PCI address) is used as
  // it is; anything else is created as a virtual device.
  if (rte_eth_dev_get_port_by_name(impl->vdev_name.c_str(), &port) != 0) {
    auto* args = std::strchr(vdev.c_str(), ',');
    if (rte_eal_hotplug_add("vdev", impl->vdev_name.c_str(), args ? args + 1 : "") != 0) {
      return make_error("DPDK: cannot create vdev {}: {}", vdev, rte_strerror(rte_errno));
    }
  }
  if (rte_eth_dev_get_port_by_name(impl->vdev_name.c_str(), &port) != 0) {
    return make_error("DPDK: no port for vdev {}", impl->vdev_name);
  }
  impl->port = port;
  impl->pool = rte_pktmbuf_pool_create(fmt::format("weft_pool{}", seq).c_str(), o.pool_size, 256, 0,
                                       RTE_MBUF_DEFAULT_BUF_SIZE, static_cast<int>(rte_socket_id()));
  if (impl->pool == nullptr) return make_error("DPDK: mbuf pool: {}", rte_strerror(rte_errno));
  rte_eth_conf conf{};
  if (int rc = rte_eth_dev_configure(port, 1, 1, &conf); rc != 0) {
    return make_error("DPDK: configure port {}: {}", port, rte_strerror(-rc));
  }
  if (int rc = rte_eth_rx_queue_setup(port, 0, 1024, rte_eth_dev_socket_id(port), nullptr, impl->pool); rc != 0) {
    return make_error("DPDK: rx queue: {}", rte_strerror(-rc));
  }
  if (int rc = rte_eth_tx_queue_setup(port, 0, 1024, rte_eth_dev_socket_id(port), nullptr); rc != 0) {
    return make_error("DPDK: tx queue: {}", rte_strerror(-rc));
  }
  if (int rc = rte_eth_dev_start(port); rc != 0) return make_error("DPDK: start port: {}", rte_strerror(-rc));
  (void)rte_eth_promiscuous_enable(port);
  impl->rx.resize(impl->burst);
  impl->tx.resize(impl->burst);
  int tfd = ::timerfd_create(CLOCK_MONOTONIC, TFD_NONBLOCK | TFD_CLOEXEC);
  if (tfd < 0) return make_error("timerfd_create: {}", std::strerror(errno));
  // The doorbell (see the header). Failing to make it only costs latency: the timer remains.
  int bell = ::socket(AF_PACKET, SOCK_RAW | SOCK_NONBLOCK | SOCK_CLOEXEC, htons(ETH_P_ALL));
  if (bell >= 0) {
    const int one = 1, small = 1;
    (void)::setsockopt(bell, SOL_PACKET, PACKET_IGNORE_OUTGOING, &one, sizeof one);
    (void)::setsockopt(bell, SOL_SOCKET, SO_RCVBUF, &small, sizeof small);  // the kernel's minimum
    sock_filter keep1[] = {{BPF_RET | BPF_K, 0, 0, 1}};
    sock_fprog prog{1, keep1};
    sockaddr_ll sll{};
    sll.sll_family = AF_PACKET;
    sll.sll_protocol = htons(ETH_P_ALL);
    sll.sll_ifindex = static_cast<int>(::if_nametoindex(o.ifname.c_str()));
    if (sll.sll_ifindex == 0 || ::setsockopt(bell, SOL_SOCKET, SO_ATTACH_FILTER, &prog, sizeof prog) != 0 ||
        ::bind(bell, reinterpret_cast<sockaddr*>(&sll), sizeof sll) != 0) {
      ::close(bell);
      bell = -1;
    }
  }
  int ep = ::epoll_create1(EPOLL_CLOEXEC);
  if (ep < 0) {
    ::close(tfd);
    if (bell >= 0) ::close(bell);
    return make_error("epoll_create1: {}", std::strerror(errno));
  }
  for (int fd : {tfd, bell}) {
    if (fd < 0) continue;
    epoll_event ev{};
    ev.events = EPOLLIN;
    ev.data.fd = fd;
    (void)::epoll_ctl(ep, EPOLL_CTL_ADD, fd, &ev);
  }
  std::unique_ptr<DpdkDatapath> dp(new DpdkDatapath(std::move(impl), tfd, bell, ep, o.ifname));
  dp->arm_timer(false);
  return dp;
}

DpdkDatapath::DpdkDatapath(std::unique_ptr<Impl> impl, int timer_fd, int bell_fd, int epoll_fd, std::string ifname)
    : impl_(std::move(impl)), timer_fd_(timer_fd), bell_fd_(bell_fd), epoll_fd_(epoll_fd), ifname_(std::move(ifname)) {}

DpdkDatapath::~DpdkDatapath() {
  if (impl_) {
    for (std::size_t i = 0; i < impl_->rx_held; ++i) rte_pktmbuf_free(impl_->rx[i]);
    (void)rte_eth_dev_stop(impl_->port);
    (void)rte_eth_dev_close(impl_->port);
    if (impl_->pool) rte_mempool_free(impl_->pool);
  }
  for (int fd : {timer_fd_, bell_fd_, epoll_fd_}) {
    if (fd >= 0) ::close(fd);
  }
}

void DpdkDatapath::arm_timer(bool busy) {
  busy_ = busy;
  itimerspec its{};
  its.it_interval.tv_nsec = busy ? 50'000 : 1'000'000;
  its.it_value = its.it_interval;
  (void)::timerfd_settime(timer_fd_, 0, &its, nullptr);
}

std::string DpdkDatapath::describe() const { return fmt::format("{} (via dpdk {})", ifname_, impl_->vdev_name); }

std::size_t DpdkDatapath::receive(std::span<FrameView> out) {
  // Consume the wake-up fds (level-triggered while unread) once per wake-up, not per burst:
  // while the previous burst came back full the caller is still draining, and the two syscalls
  // would only be repeated on the packet path.
  bool rang = false;
  if (!draining_) {
    std::uint64_t ticks = 0;
    (void)!::read(timer_fd_, &ticks, sizeof ticks);
    if (bell_fd_ >= 0) {
      std::uint8_t b[4];
      while (::recv(bell_fd_, b, sizeof b, MSG_DONTWAIT | MSG_TRUNC) >= 0) rang = true;
    }
  }
  for (std::size_t i = 0; i < impl_->rx_held; ++i) rte_pktmbuf_free(impl_->rx[i]);
  impl_->rx_held = 0;
  const auto want = static_cast<std::uint16_t>(std::min<std::size_t>(out.size(), impl_->burst));
  std::uint16_t n = rte_eth_rx_burst(impl_->port, 0, impl_->rx.data(), want);
  draining_ = n == want;
  std::size_t k = 0;
  for (std::uint16_t i = 0; i < n; ++i) {
    rte_mbuf* m = impl_->rx[i];
    if (m->nb_segs != 1) {  // frames bigger than one mbuf: not produced with framesz 2048
      ++stats_.rx_dropped;
      rte_pktmbuf_free(m);
      continue;
    }
    impl_->rx[k] = m;
    out[k++] = FrameView{std::span<const std::uint8_t>(rte_pktmbuf_mtod(m, const std::uint8_t*), m->data_len)};
    ++stats_.rx_frames;
    stats_.rx_bytes += m->data_len;
  }
  impl_->rx_held = k;
  // Adaptive wakeups: fast while frames arrive, slow after ~20 empty polls.
  if (n > 0 || rang) {
    // Frames flow (or the doorbell rang before the PMD's ring had the frame): re-poll soon.
    idle_polls_ = 0;
    if (!busy_) arm_timer(true);
  } else if (busy_ && ++idle_polls_ > 20) {
    arm_timer(false);
  }
  return k;
}

std::size_t DpdkDatapath::send(std::span<const FrameView> frames) {
  std::size_t sent = 0;
  std::size_t i = 0;
  while (i < frames.size()) {
    std::uint16_t k = 0;
    while (i < frames.size() && k < impl_->burst) {
      const auto& f = frames[i++];
      rte_mbuf* m = rte_pktmbuf_alloc(impl_->pool);
      if (m == nullptr || f.data.size() > rte_pktmbuf_tailroom(m)) {
        if (m) rte_pktmbuf_free(m);
        ++stats_.tx_dropped;
        continue;
      }
      std::memcpy(rte_pktmbuf_mtod(m, void*), f.data.data(), f.data.size());
      m->data_len = static_cast<std::uint16_t>(f.data.size());
      m->pkt_len = f.data.size();
      impl_->tx[k++] = m;
    }
    std::uint16_t done = rte_eth_tx_burst(impl_->port, 0, impl_->tx.data(), k);
    for (std::uint16_t q = 0; q < done; ++q) {
      ++stats_.tx_frames;
      stats_.tx_bytes += impl_->tx[q]->pkt_len;
    }
    for (std::uint16_t q = done; q < k; ++q) {
      rte_pktmbuf_free(impl_->tx[q]);
      ++stats_.tx_dropped;
    }
    sent += done;
  }
  return sent;
}

}  // namespace weft::datapath
