#include "weft/npc/nflog_socket.hpp"

#include <arpa/inet.h>
#include <linux/netfilter/nfnetlink.h>
#include <linux/netfilter/nfnetlink_log.h>
#include <linux/netlink.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

namespace weft::npc {

namespace {

void put_attr(std::vector<std::uint8_t>& msg, std::uint16_t type, const void* data, std::size_t len) {
  const std::size_t off = msg.size();
  const auto alen = static_cast<std::uint16_t>(NLA_HDRLEN + len);
  msg.resize(off + NLA_ALIGN(alen), 0);
  std::memcpy(&msg[off], &alen, 2);
  std::memcpy(&msg[off + 2], &type, 2);
  std::memcpy(&msg[off + NLA_HDRLEN], data, len);
}

/// Sends one NFULNL_MSG_CONFIG request for `group` with `attrs`, and reads its ACK.
Result<void> configure(int fd, std::uint16_t group, const std::vector<std::uint8_t>& attrs, std::uint32_t seq) {
  std::vector<std::uint8_t> msg(NLMSG_HDRLEN + sizeof(nfgenmsg), 0);
  msg.insert(msg.end(), attrs.begin(), attrs.end());
  nlmsghdr h{};
  h.nlmsg_len = static_cast<std::uint32_t>(msg.size());
  h.nlmsg_type = (NFNL_SUBSYS_ULOG << 8) | NFULNL_MSG_CONFIG;
  h.nlmsg_flags = NLM_F_REQUEST | NLM_F_ACK;
  h.nlmsg_seq = seq;
  std::memcpy(msg.data(), &h, sizeof h);
  nfgenmsg g{};
  g.nfgen_family = AF_UNSPEC;
  g.version = NFNETLINK_V0;
  g.res_id = htons(group);
  std::memcpy(msg.data() + NLMSG_HDRLEN, &g, sizeof g);
  sockaddr_nl kernel{};
  kernel.nl_family = AF_NETLINK;
  if (::sendto(fd, msg.data(), msg.size(), 0, reinterpret_cast<sockaddr*>(&kernel), sizeof kernel) < 0) {
    return make_error("nflog config send: {}", std::strerror(errno));
  }
  std::uint8_t buf[4096];
  for (;;) {
    ssize_t n = ::recv(fd, buf, sizeof buf, 0);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) return make_error("nflog config ack: {}", std::strerror(errno));
    if (static_cast<std::size_t>(n) < NLMSG_HDRLEN + sizeof(nlmsgerr)) continue;
    nlmsghdr r{};
    std::memcpy(&r, buf, sizeof r);
    if (r.nlmsg_type != NLMSG_ERROR || r.nlmsg_seq != seq) continue;
    nlmsgerr e{};
    std::memcpy(&e, buf + NLMSG_HDRLEN, sizeof e);
    if (e.error != 0) return make_error("nflog group {}: {}", group, std::strerror(-e.error));
    return {};
  }
}

}  // namespace

Result<std::unique_ptr<NflogSocket>> NflogSocket::open(std::uint16_t group, std::uint32_t copy_range) {
  int fd = ::socket(AF_NETLINK, SOCK_RAW | SOCK_CLOEXEC, NETLINK_NETFILTER);
  if (fd < 0) return make_error("netlink socket: {}", std::strerror(errno));
  std::unique_ptr<NflogSocket> s(new NflogSocket(fd));
  sockaddr_nl local{};
  local.nl_family = AF_NETLINK;
  if (::bind(fd, reinterpret_cast<sockaddr*>(&local), sizeof local) < 0) {
    return make_error("netlink bind: {}", std::strerror(errno));
  }
  int rcvbuf = 1 << 20;
  (void)::setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &rcvbuf, sizeof rcvbuf);
  std::vector<std::uint8_t> bind_attrs;
  nfulnl_msg_config_cmd cmd{NFULNL_CFG_CMD_BIND};
  put_attr(bind_attrs, NFULA_CFG_CMD, &cmd, sizeof cmd);
  WEFT_TRY_VOID(configure(fd, group, bind_attrs, 1));
  std::vector<std::uint8_t> mode_attrs;
  nfulnl_msg_config_mode mode{};
  mode.copy_range = htonl(copy_range);
  mode.copy_mode = NFULNL_COPY_PACKET;
  put_attr(mode_attrs, NFULA_CFG_MODE, &mode, sizeof mode);
  WEFT_TRY_VOID(configure(fd, group, mode_attrs, 2));
  return s;
}

NflogSocket::~NflogSocket() { ::close(fd_); }

Result<std::vector<std::uint8_t>> NflogSocket::receive(std::chrono::milliseconds timeout) {
  pollfd p{fd_, POLLIN, 0};
  int n = ::poll(&p, 1, static_cast<int>(timeout.count()));
  if (n < 0 && errno != EINTR) return make_error("poll nflog: {}", std::strerror(errno));
  if (n <= 0) return std::vector<std::uint8_t>{};
  std::vector<std::uint8_t> buf(65536);
  ssize_t r = ::recv(fd_, buf.data(), buf.size(), MSG_DONTWAIT);
  if (r < 0) {
    // ENOBUFS: the kernel dropped log messages under load; the next ones still come.
    if (errno == EAGAIN || errno == EINTR || errno == ENOBUFS) return std::vector<std::uint8_t>{};
    return make_error("recv nflog: {}", std::strerror(errno));
  }
  buf.resize(static_cast<std::size_t>(r));
  return buf;
}

}  // namespace weft::npc
