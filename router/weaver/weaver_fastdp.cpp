// The kernel fast path's wiring (policy of spec §5 as weft applies it): which hosts offer fastdp,
// and the fallback to the userspace path with a clear log line when the kernel says no.
#include "weaver.hpp"
#include "weft/datapath/linux/host_setup.hpp"
#include "weft/router/fastdp.hpp"

namespace weft::weaver {

Result<void> Weaver::load_fastdp(mesh_net::NodeConfig& cfg) {
  if (!cfg_.fastdp.wanted) return {};
  const bool insist = cfg_.fastdp.insist;
  if (cfg_.fastdp.disabled) {  // not with kernel: parse_config refuses that
    log_.info("Fast datapath off (--no-fastdp): frames go through weaver (afpacket) on the sleeve");
    return {};
  }
  if (password_) {
    // Weave encrypts fastdp with kernel IPsec ESP, which these hosts lack: encrypted
    // connections keep the sleeve (Weave peers) or the extended overlay's AEAD (weft peers).
    if (insist) return make_error("--datapath-backend kernel: fastdp cannot be encrypted here (no kernel ESP)");
    log_.info("Fast datapath not offered: the connections are encrypted (no kernel ESP for fastdp); using afpacket");
    return {};
  }
  auto k = datapath::KernelFastdp::load(cfg_.fastdp.refuse, log_.child("fastdp"));
  if (!k) {
    if (insist) return make_error("--datapath-backend kernel: {}", k.error().message);
    log_.warn("Fast datapath unavailable: {}; falling back to the userspace datapath (afpacket)", k.error().message);
    return {};
  }
  kernel_ = std::move(*k);
  cfg.overlays = {std::string(router::kOverlayFastdp), std::string(router::kOverlaySleeve)};
  return {};
}

Result<void> Weaver::start_fastdp() {
  if (!kernel_) return {};
  datapath::KernelFastdpAttach a;
  a.bridge_port = std::string(datapath::host::kVethBridgeEnd);
  a.vxlan_port = static_cast<std::uint16_t>(node_->bound_port() + 1);
  a.vxlan_name = fmt::format("vxlan-{}", a.vxlan_port);
  a.self_short_id = self_.short_id ? self_.short_id->value() : 0;
  a.max_frame = static_cast<std::uint32_t>(mtu_ + 14);
  // Unicast to and from local containers skips the bridge, unless weave-npc's rules sit on it.
  const bool direct = !cfg_.fastdp.no_direct && !cfg_.rules.expect_npc;
  fastdp_.emplace(io_, *node_, std::move(kernel_), mtu_, a.vxlan_port, log_.child("fastdp"));
  auto r = fastdp_->start(
      a, &overlay_->forwarder().macs(),
      [this](TimePoint now, PeerName src, PeerName dst, std::span<const std::uint8_t> frame,
             const datapath::VnetHeader* vh,
             std::optional<PeerName> from) { overlay_->deliver_fastdp_frame(now, src, dst, frame, vh, from); },
      direct);
  if (!r) {
    fastdp_.reset();  // detaches whatever was attached
    if (cfg_.fastdp.insist) return make_error("--datapath-backend kernel: {}", r.error().message);
    log_.warn("Fast datapath unavailable: {}; falling back to the userspace datapath (afpacket)", r.error().message);
    return {};
  }
  overlay_->set_fastdp(&*fastdp_);
  log_.info("Fast datapath on: eBPF on {} (egress) and {} (ingress), VXLAN on UDP port {}, MTU {}; {}", a.bridge_port,
            a.vxlan_name, a.vxlan_port, mtu_,
            direct                  ? "unicast to and from containers skips the bridge"
            : cfg_.fastdp.no_direct ? "delivery through the bridge (--no-fastdp-direct)"
                                    : "delivery through the bridge (--expect-npc: policy rules sit on it)");
  return {};
}

}  // namespace weft::weaver
