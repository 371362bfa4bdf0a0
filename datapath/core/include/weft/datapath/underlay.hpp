#pragma once
// The underlay: UDP datagrams to and from peers (the sleeve's port 6783). Batch-shaped like
// Datapath so recvmmsg/sendmmsg (and later UDP GSO/GRO) slot in without touching the overlay.
#include <cstddef>
#include <cstdint>
#include <span>

#include "weft/base/ipv4.hpp"

namespace weft::datapath {

struct UdpEndpoint {
  Ipv4 ip;
  std::uint16_t port = 0;
  auto operator<=>(const UdpEndpoint&) const = default;
};

struct DatagramIn {
  UdpEndpoint from;
  std::span<const std::uint8_t> data;  ///< valid until the next receive()
};

struct DatagramOut {
  UdpEndpoint to;
  std::span<const std::uint8_t> data;
  bool df = false;  ///< send with the Don't Fragment bit (the sleeve's DF path)
};

/// Why a send failed; EMSGSIZE on the DF path drives PMTU discovery.
struct SendError {
  std::size_t index = 0;  ///< which datagram of the batch
  int error = 0;          ///< errno
  int path_mtu = 0;       ///< IP_MTU towards `to` when error == EMSGSIZE, else 0
};

struct UnderlayStats {
  std::uint64_t rx_datagrams = 0;
  std::uint64_t rx_bytes = 0;
  std::uint64_t tx_datagrams = 0;
  std::uint64_t tx_bytes = 0;
  std::uint64_t tx_errors = 0;
  std::uint64_t tx_gso_sends = 0;  ///< messages sent with UDP_SEGMENT (each several datagrams)
  std::uint64_t rx_gro_buffers = 0;  ///< received buffers that carried more than one datagram
};

class Underlay {
 public:
  virtual ~Underlay() = default;
  /// Non-blocking: fills up to out.size() datagrams; returns the count.
  virtual std::size_t receive(std::span<DatagramIn> out) = 0;
  /// Sends a batch; returns how many were sent. On the first failure it stops and, if `err` is
  /// given, describes it (the caller may retry the rest).
  virtual std::size_t send(std::span<const DatagramOut> batch, SendError* err = nullptr) = 0;
  /// Readable when receive() may return datagrams.
  virtual int wait_fd() const = 0;
  /// True when receive() has datagrams already taken from the kernel (the rest of a GRO
  /// train): the caller must call receive() again without waiting for wait_fd().
  virtual bool has_pending() const { return false; }
  virtual UnderlayStats stats() const = 0;
};

}  // namespace weft::datapath
