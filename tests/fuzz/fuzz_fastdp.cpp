// Fuzzes the fastdp decoders (router/core fastdp.hpp) and the heartbeat path of the fastdp
// forwarders, with model checks:
//   * parse_vxlan: the frame is the input after 8 bytes, the VNI is bytes 4..6;
//   * parse_fastdp_heartbeat accepts only zero-MAC frames whose length field equals their size,
//     and a heartbeat built by make_fastdp_heartbeat for the parsed uid and size parses back;
//   * FastdpForwarders::on_heartbeat acknowledges (once) only a heartbeat with the connection's uid.
#include "fuzz_check.hpp"
#include <cstddef>
#include <cstdint>
#include <span>

#include "weft/router/fastdp.hpp"
#include "weft/router/fastdp_forwarder.hpp"

using namespace weft;
using namespace weft::router;

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  std::span<const std::uint8_t> in(data, size);
  if (auto v = parse_vxlan(in)) {
    FUZZ_CHECK(size >= kVxlanHeaderLen + 14);
    FUZZ_CHECK(v->frame.data() == data + kVxlanHeaderLen && v->frame.size() == size - kVxlanHeaderLen);
    FUZZ_CHECK(v->vni == ((std::uint32_t{data[4]} << 16) | (std::uint32_t{data[5]} << 8) | data[6]));
    FUZZ_CHECK((data[0] & kVxlanFlagVni) != 0);
  }
  if (auto uid = parse_fastdp_heartbeat(in)) {
    FUZZ_CHECK(is_zero_mac_frame(in) && size >= kFastdpHeartbeatMin);
    FUZZ_CHECK(((std::size_t{data[22]} << 8) | data[23]) == size);
    auto again = make_fastdp_heartbeat(*uid, static_cast<int>(size) - 14);
    FUZZ_CHECK(again.size() == size && *parse_fastdp_heartbeat(again) == *uid);
  }
  FastdpForwarders f(1410, 6784);
  FastdpEffects fx;
  const PeerName remote(0xaabbccddee02u);
  const TimePoint t0{std::chrono::hours(1)};
  f.add_connection(t0, FastdpConnection{1, remote, 0x0303030303030303ull, 0, std::nullopt}, fx);
  auto r = f.on_heartbeat(t0, remote, Ipv4(0x0a000002), in, fx);
  const bool valid = parse_fastdp_heartbeat(in) && *parse_fastdp_heartbeat(in) == 0x0303030303030303ull;
  FUZZ_CHECK(static_cast<bool>(r) == valid);
  FUZZ_CHECK(fx.controls.size() == (valid ? 1u : 0u));
  (void)f.on_heartbeat(t0, remote, Ipv4(0x0a000002), in, fx);
  FUZZ_CHECK(fx.controls.size() == (valid ? 1u : 0u));
  return 0;
}
