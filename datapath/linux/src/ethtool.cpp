// SIOCETHTOOL helpers (see ethtool.hpp).
#include "weft/datapath/linux/ethtool.hpp"

#include <linux/ethtool.h>
#include <linux/sockios.h>
#include <net/if.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <memory>
#include <string>
#include <vector>

namespace weft::datapath::host {
namespace {

/// A datagram socket to carry the ioctls; it belongs to the namespace of the thread creating it.
class IoctlSocket {
 public:
  IoctlSocket() : fd_(::socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0)) {}
  ~IoctlSocket() {
    if (fd_ >= 0) ::close(fd_);
  }
  IoctlSocket(const IoctlSocket&) = delete;
  IoctlSocket& operator=(const IoctlSocket&) = delete;
  int fd() const { return fd_; }

  /// SIOCETHTOOL with DATA; returns the ioctl's result (>= 0) or -errno.
  int ethtool(std::string_view ifname, void* data) const {
    ifreq ifr{};
    std::memcpy(ifr.ifr_name, ifname.data(), std::min(ifname.size(), sizeof(ifr.ifr_name) - 1));
    ifr.ifr_data = static_cast<char*>(data);
    int r = ::ioctl(fd_, SIOCETHTOOL, &ifr);
    return r < 0 ? -errno : r;
  }

 private:
  int fd_;
};

Result<void> check_ifname(std::string_view ifname) {
  if (ifname.empty() || ifname.size() >= IFNAMSIZ) {
    return make_error("ethtool {}: invalid interface name", ifname);
  }
  return {};
}

/// Is this feature one that makes the device emit frames the kernel has not finished?
bool is_tx_offload(const std::string& name) {
  if (name.rfind("tx-", 0) != 0) return false;
  return name.find("checksum") != std::string::npos ||
         name.find("segmentation") != std::string::npos ||
         name.find("fragmentation") != std::string::npos || name == "tx-gso-partial" ||
         name == "tx-gso-list";
}

/// The TX offloads a frame with a virtio_net_hdr can carry and weft can finish for any peer:
/// partial checksums (the generic one's-complement kind) and IPv4 TCP segmentation. Not TCPv6 or
/// UDP segmentation (weft cuts only IPv4 TCP for peers without the extended overlay), tunnel,
/// SCTP (CRC32c) or FCoE offloads, GSO-partial or fraglist (no virtio_net_hdr form).
bool is_superframe_offload(const std::string& name) {
  return name == "tx-checksum-ip-generic" || name == "tx-checksum-ipv4" || name == "tx-checksum-ipv6" ||
         name == "tx-tcp-segmentation" || name == "tx-tcp-ecn-segmentation" ||
         name == "tx-tcp-mangleid-segmentation" || name == "tx-generic-segmentation";
}

/// A heap block for a variable-length ethtool struct, zeroed.
template <typename T>
struct VarBuf {
  explicit VarBuf(std::size_t bytes) : mem(sizeof(T) + bytes, 0) {}
  T* get() { return reinterpret_cast<T*>(mem.data()); }
  std::vector<std::uint8_t> mem;
};

/// Returns 0 if done, -EOPNOTSUPP if the driver has no feature strings (use the legacy path),
/// or another -errno.
/// Sets every changeable TX offload: off, or (superframes) exactly the is_superframe_offload ones
/// on and the rest off.
int set_by_features(const IoctlSocket& s, std::string_view ifname, bool superframes) {
  VarBuf<ethtool_sset_info> info(sizeof(std::uint32_t));
  info.get()->cmd = ETHTOOL_GSSET_INFO;
  info.get()->sset_mask = 1ULL << ETH_SS_FEATURES;
  if (int r = s.ethtool(ifname, info.get()); r < 0) return r;
  if ((info.get()->sset_mask & (1ULL << ETH_SS_FEATURES)) == 0) return -EOPNOTSUPP;
  std::uint32_t count = info.get()->data[0];
  if (count == 0) return -EOPNOTSUPP;

  VarBuf<ethtool_gstrings> strings(std::size_t{count} * ETH_GSTRING_LEN);
  strings.get()->cmd = ETHTOOL_GSTRINGS;
  strings.get()->string_set = ETH_SS_FEATURES;
  strings.get()->len = count;
  if (int r = s.ethtool(ifname, strings.get()); r < 0) return r;

  std::uint32_t blocks = (count + 31) / 32;
  VarBuf<ethtool_gfeatures> get(blocks * sizeof(ethtool_get_features_block));
  get.get()->cmd = ETHTOOL_GFEATURES;
  get.get()->size = blocks;
  if (int r = s.ethtool(ifname, get.get()); r < 0) return r;

  VarBuf<ethtool_sfeatures> set(blocks * sizeof(ethtool_set_features_block));
  set.get()->cmd = ETHTOOL_SFEATURES;
  set.get()->size = blocks;
  bool any = false;
  for (std::uint32_t i = 0; i < count; ++i) {
    const char* p =
        reinterpret_cast<const char*>(strings.get()->data) + std::size_t{i} * ETH_GSTRING_LEN;
    std::string name(p, strnlen(p, ETH_GSTRING_LEN));
    if (!is_tx_offload(name)) continue;
    const bool on = superframes && is_superframe_offload(name);
    std::uint32_t bit = 1U << (i % 32);
    const auto& g = get.get()->features[i / 32];
    // Only features the device lets us change; asking for fixed ones makes the kernel complain.
    if ((g.available & bit) == 0 || ((g.active & bit) != 0) == on) continue;
    set.get()->features[i / 32].valid |= bit;
    if (on) set.get()->features[i / 32].requested |= bit;  // else it stays 0: off
    any = true;
  }
  if (!any) return 0;
  int r = s.ethtool(ifname, set.get());
  // NB: a positive result is ETHTOOL_F_* flags: some request was adjusted (e.g. a feature that
  // depends on another one). The legacy check below tells whether what matters ended up off.
  return r < 0 ? r : 0;
}

int legacy_set(const IoctlSocket& s, std::string_view ifname, std::uint32_t cmd) {
  ethtool_value v{};
  v.cmd = cmd;
  v.data = 0;
  int r = s.ethtool(ifname, &v);
  return r < 0 ? r : 0;
}

/// -1 if unsupported, else 0/1.
int legacy_get(const IoctlSocket& s, std::string_view ifname, std::uint32_t cmd) {
  ethtool_value v{};
  v.cmd = cmd;
  int r = s.ethtool(ifname, &v);
  if (r < 0) return -1;
  return v.data != 0 ? 1 : 0;
}

Result<OffloadState> read_state(const IoctlSocket& s, std::string_view ifname) {
  OffloadState st;
  int csum = legacy_get(s, ifname, ETHTOOL_GTXCSUM);
  if (csum < 0) {
    // Distinguish "no such device" from "driver has no ethtool ops at all".
    ethtool_value v{};
    v.cmd = ETHTOOL_GTXCSUM;
    int r = s.ethtool(ifname, &v);
    if (r == -ENODEV) return make_error("ethtool {}: {}", ifname, std::strerror(ENODEV));
  }
  st.tx_checksum = csum == 1;
  st.tso = legacy_get(s, ifname, ETHTOOL_GTSO) == 1;
  st.gso = legacy_get(s, ifname, ETHTOOL_GGSO) == 1;
  st.ufo = legacy_get(s, ifname, ETHTOOL_GUFO) == 1;
  return st;
}

}  // namespace

Result<OffloadState> offload_state(std::string_view ifname) {
  WEFT_TRY_VOID(check_ifname(ifname));
  IoctlSocket s;
  if (s.fd() < 0) return make_error("ethtool {}: socket: {}", ifname, std::strerror(errno));
  return read_state(s, ifname);
}

Result<void> disable_tx_offloads(std::string_view ifname) {
  WEFT_TRY_VOID(check_ifname(ifname));
  IoctlSocket s;
  if (s.fd() < 0) return make_error("ethtool {}: socket: {}", ifname, std::strerror(errno));
  int r = set_by_features(s, ifname, false);
  if (r == -ENODEV) return make_error("ethtool {}: {}", ifname, std::strerror(ENODEV));
  if (r != 0) {
    // Old drivers: one command per feature. Unsupported ones are fine (nothing to turn off).
    for (std::uint32_t cmd : {ETHTOOL_STXCSUM, ETHTOOL_STSO, ETHTOOL_SGSO, ETHTOOL_SUFO}) {
      int e = legacy_set(s, ifname, cmd);
      if (e != 0 && e != -EOPNOTSUPP && e != -EINVAL) {
        return make_error("ethtool {}: turning offloads off: {}", ifname, std::strerror(-e));
      }
    }
  }
  WEFT_TRY(st, read_state(s, ifname));
  if (st.tx_checksum || st.tso || st.gso || st.ufo) {
    return make_error(
        "ethtool {}: offloads still on after turning them off "
        "(tx-checksumming {}, tso {}, gso {}, ufo {})",
        ifname, st.tx_checksum ? "on" : "off", st.tso ? "on" : "off", st.gso ? "on" : "off",
        st.ufo ? "on" : "off");
  }
  return {};
}

Result<void> set_superframe_offloads(std::string_view ifname) {
  WEFT_TRY_VOID(check_ifname(ifname));
  IoctlSocket s;
  if (s.fd() < 0) return make_error("ethtool {}: socket: {}", ifname, std::strerror(errno));
  int r = set_by_features(s, ifname, true);
  if (r == -ENODEV) return make_error("ethtool {}: {}", ifname, std::strerror(ENODEV));
  if (r != 0) {
    for (std::uint32_t cmd : {ETHTOOL_STXCSUM, ETHTOOL_STSO, ETHTOOL_SGSO}) {
      ethtool_value v{};
      v.cmd = cmd;
      v.data = 1;
      int e = s.ethtool(ifname, &v);
      if (e < 0 && e != -EOPNOTSUPP && e != -EINVAL) {
        return make_error("ethtool {}: turning offloads on: {}", ifname, std::strerror(-e));
      }
    }
  }
  WEFT_TRY(st, read_state(s, ifname));
  if (!st.tx_checksum || !st.tso) {
    return make_error("ethtool {}: offloads still off after turning them on (tx-checksumming {}, tso {})", ifname,
                      st.tx_checksum ? "on" : "off", st.tso ? "on" : "off");
  }
  return {};
}

bool bridge_takes_superframes(std::string_view bridge) {
  auto st = offload_state(bridge);
  return st && st->tso;
}

}  // namespace weft::datapath::host
