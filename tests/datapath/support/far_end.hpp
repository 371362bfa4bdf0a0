#pragma once
// The far side of the link a Datapath backend under test sits on, for the datapath tests: frames
// the test sends *into* the backend's capture, and frames the backend injected, as they arrive.
// For a real backend it is an AF_PACKET socket on the other end of a veth pair (optionally with
// PACKET_VNET_HDR, so TSO superframes travel whole); the fake's far end is the fake itself.
#include <sys/socket.h>
#include <cstddef>
#include <cstdint>
#include <span>
#include <string>
#include <vector>

#include <linux/if_packet.h>

#include "weft/base/bytes.hpp"
#include "weft/datapath/vnet_header.hpp"

namespace weft::datapath::test {

inline constexpr std::uint16_t kTypeIn = 0x88b5;   // IEEE local experimental ethertypes: no stack
inline constexpr std::uint16_t kTypeOut = 0x88b6;  // on the host reacts to them

/// A frame of `len` bytes with ethertype `type` and the big-endian sequence number `seq` right
/// after the Ethernet header (the rest is a pattern seeded by seq).
Bytes seq_frame(std::uint16_t type, std::uint32_t seq, std::size_t len);
/// The sequence number seq_frame() wrote (0 for a frame too short to carry one).
std::uint32_t seq_of(std::span<const std::uint8_t> frame);
std::uint16_t ethertype_of(std::span<const std::uint8_t> frame);
/// poll() for POLLIN; false on timeout.
bool wait_readable(int fd, int timeout_ms);

class FarEnd {
 public:
  virtual ~FarEnd() = default;
  /// Sends one frame into the link toward the backend; with `vh`, as a superframe with that
  /// virtio_net_hdr (only a far end opened with vnet headers can).
  virtual bool send(std::span<const std::uint8_t> frame, const VnetHeader* vh = nullptr) = 0;
  /// Frames of ethertype `type` that came out of the backend (its injections), oldest first,
  /// until `want` arrived or nothing came for `timeout_ms`; `headers` gets their vnet headers.
  virtual std::vector<Bytes> receive(std::uint16_t type, std::size_t want, int timeout_ms,
                                     std::vector<VnetHeader>* headers = nullptr) = 0;
};

/// An AF_PACKET socket bound to `ifname` (the test's end of the veth pair), with a large receive
/// buffer so a burst injected by the backend is not dropped before the test reads it.
class PacketSocketEnd final : public FarEnd {
 public:
  explicit PacketSocketEnd(const std::string& ifname, bool vnet = false);
  ~PacketSocketEnd() override;
  PacketSocketEnd(const PacketSocketEnd&) = delete;
  PacketSocketEnd& operator=(const PacketSocketEnd&) = delete;
  bool ok() const { return fd_ >= 0 && addr_.sll_ifindex > 0; }
  bool send(std::span<const std::uint8_t> frame, const VnetHeader* vh = nullptr) override;
  std::vector<Bytes> receive(std::uint16_t type, std::size_t want, int timeout_ms,
                             std::vector<VnetHeader>* headers = nullptr) override;

 private:
  int fd_ = -1;
  bool vnet_ = false;
  sockaddr_ll addr_{};
};

}  // namespace weft::datapath::test
