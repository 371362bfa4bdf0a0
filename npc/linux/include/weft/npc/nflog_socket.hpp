#pragma once
// A netlink socket bound to one NFLOG group (nfnetlink_log), which is where the WEAVE-NPC rules send
// dropped NEW packets (group 86). Weave ran ulogd to a pcap FIFO and read that; weft reads the
// group directly (kube spec §4.8 allows it), so the image needs no ulogd. One listener per group
// and network namespace: a second bind fails with EBUSY.
#include <chrono>
#include <cstdint>
#include <memory>
#include <vector>

#include "weft/base/result.hpp"

namespace weft::npc {

class NflogSocket {
 public:
  /// Binds `group` and asks for the first `copy_range` bytes of each packet.
  static Result<std::unique_ptr<NflogSocket>> open(std::uint16_t group, std::uint32_t copy_range = 256);
  ~NflogSocket();
  NflogSocket(const NflogSocket&) = delete;
  NflogSocket& operator=(const NflogSocket&) = delete;

  /// Waits up to `timeout` for one datagram (one or more NFLOG messages); an empty result on
  /// timeout. The caller decodes it with nflog_payloads().
  Result<std::vector<std::uint8_t>> receive(std::chrono::milliseconds timeout);

 private:
  explicit NflogSocket(int fd) : fd_(fd) {}
  int fd_;
};

}  // namespace weft::npc
