#pragma once
// UdpUnderlay: the sleeve's UDP port on Linux (wire spec §4.1), batch-shaped.
//
// Two UDP sockets share the port through SO_REUSEPORT:
//   * the non-DF socket, IP_MTU_DISCOVER = IP_PMTUDISC_DONT: the kernel fragments big datagrams;
//   * the DF socket,     IP_MTU_DISCOVER = IP_PMTUDISC_DO: DF set, a datagram bigger than the
//     route's (path) MTU fails with EMSGSIZE, which drives the sleeve's PMTU discovery (§4.4).
// Weave's DF path was a raw ip4:UDP socket with checksum 0; a UDP socket sends the same datagram
// with a real checksum, which every receiver accepts, and needs no CAP_NET_RAW.
//
// Incoming datagrams are spread over the two sockets by the kernel's reuseport hash, so receive()
// reads both (recvmmsg), and wait_fd() is an epoll fd holding both. send() hands each run of
// consecutive datagrams with the same df flag to sendmmsg on the matching socket.
//
// Segmentation offload (issue 8), both optional and on by default:
//   * UDP GSO (UDP_SEGMENT): a run of consecutive datagrams to the same peer whose sizes are
//     equal (the last may be shorter) goes out as one message with a UDP_SEGMENT cmsg, so the
//     kernel walks its stack once per up to 64 datagrams. The datagrams on the wire are exactly
//     those given, so Weave peers see nothing new. If the kernel refuses (EIO: no checksum
//     offload on the route's device), GSO is turned off and the batch goes out one by one.
//   * UDP GRO (UDP_GRO): the kernel hands over a train of same-flow datagrams as one buffer
//     with the segment size in a cmsg; receive() splits it back into the original datagrams.
#include <cstddef>
#include <cstdint>
#include <memory>

#include "weft/base/ipv4.hpp"
#include "weft/base/result.hpp"
#include "weft/datapath/underlay.hpp"

namespace weft::datapath {

class UdpUnderlay final : public Underlay {
 public:
  static constexpr std::size_t kMaxBatch = 64;     ///< datagrams per syscall
  static constexpr std::size_t kSlotSize = 65536;  ///< > the largest UDP payload (65507)
  static constexpr int kSocketBuffer = 4 << 20;    ///< SO_RCVBUF / SO_SNDBUF request

  /// Binds both sockets to bind_ip:port (Ipv4() = any; port 0 = an ephemeral port shared by both).
  /// Buffers are set to 4 MiB, with SO_*BUFFORCE when permitted (root / CAP_NET_ADMIN) so that
  /// net.core.[rw]mem_max does not cap them. Errors are environment failures (port in use, ...).
  struct Offloads {
    bool gso = true;
    bool gro = true;
  };
  static Result<std::unique_ptr<UdpUnderlay>> open(Ipv4 bind_ip, std::uint16_t port, Offloads off);
  static Result<std::unique_ptr<UdpUnderlay>> open(Ipv4 bind_ip, std::uint16_t port) {
    return open(bind_ip, port, Offloads{});
  }
  /// What is in effect (GRO if the kernel accepted UDP_GRO; GSO until the kernel refused it).
  Offloads offloads() const { return {gso_, gro_}; }

  ~UdpUnderlay() override;
  UdpUnderlay(const UdpUnderlay&) = delete;
  UdpUnderlay& operator=(const UdpUnderlay&) = delete;

  // Underlay. All on one thread (the router strand); no allocation after open().
  /// Up to min(out.size(), kMaxBatch) datagrams from both sockets; views stay valid until the
  /// next receive().
  std::size_t receive(std::span<DatagramIn> out) override;
  /// EMSGSIZE reports the path MTU from path_mtu(); EAGAIN means the socket buffer is full.
  std::size_t send(std::span<const DatagramOut> batch, SendError* err = nullptr) override;
  /// An epoll fd containing both sockets (level-triggered).
  int wait_fd() const override { return epoll_fd_; }
  bool has_pending() const override { return pending_slot_ < pending_end_; }
  UnderlayStats stats() const override { return stats_; }

  /// The bound address (with the port the kernel chose when 0 was asked for).
  UdpEndpoint local() const { return local_; }
  /// The kernel's MTU for the route to `to` including learned PMTU exceptions, or 0 if unknown.
  /// NB: IP_MTU only answers on a connected socket (ENOTCONN otherwise), so this connects a
  /// short-lived helper socket from our bind address; it runs only on the EMSGSIZE path.
  int path_mtu(UdpEndpoint to) const;
  /// The socket for one path, for tests that inspect socket options.
  int socket_fd_for_test(bool df) const { return df ? df_fd_ : nondf_fd_; }

 private:
  struct Buffers;
  UdpUnderlay(int nondf_fd, int df_fd, int epoll_fd, UdpEndpoint local);
  std::size_t receive_from(int fd, std::size_t first_slot, std::size_t count);
  /// Hands out segments of received (GRO) slots still pending from the last recvmmsg.
  std::size_t drain_pending(std::span<DatagramIn> out);
  std::size_t send_run(int fd, std::span<const DatagramOut> run, std::size_t base, SendError* err);

  int nondf_fd_ = -1;
  int df_fd_ = -1;
  int epoll_fd_ = -1;
  UdpEndpoint local_;
  bool df_first_ = false;  ///< alternates which socket receive() drains first
  bool gso_ = false;
  bool gro_ = false;
  std::size_t gso_max_ = kSlotSize;  ///< only datagrams up to this size are sent as GSO trains
  // GRO split state: slots [pending_slot_, pending_end_) of the last recvmmsg, and the offset in
  // the current one.
  std::size_t pending_slot_ = 0;
  std::size_t pending_end_ = 0;
  std::size_t pending_off_ = 0;
  std::unique_ptr<Buffers> buf_;
  UnderlayStats stats_;
};

}  // namespace weft::datapath
