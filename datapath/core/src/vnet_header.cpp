#include "weft/datapath/vnet_header.hpp"

#include <algorithm>
#include <bit>
#include <cstring>

#include "weft/datapath/checksum.hpp"
#include "weft/datapath/ethernet.hpp"
#include "weft/datapath/ipv4_header.hpp"

namespace weft::datapath {

namespace {

// NB: legacy virtio headers are in the host's byte order (the kernel's vio_le()
// is true only on little-endian hosts for packet sockets).
std::uint16_t load_host16(const std::uint8_t* p) {
  if constexpr (std::endian::native == std::endian::little) {
    return static_cast<std::uint16_t>(p[0] | (p[1] << 8));
  } else {
    return static_cast<std::uint16_t>((p[0] << 8) | p[1]);
  }
}
void store_host16(std::uint8_t* p, std::uint16_t v) {
  if constexpr (std::endian::native == std::endian::little) {
    p[0] = static_cast<std::uint8_t>(v);
    p[1] = static_cast<std::uint8_t>(v >> 8);
  } else {
    p[0] = static_cast<std::uint8_t>(v >> 8);
    p[1] = static_cast<std::uint8_t>(v);
  }
}
std::uint16_t load_be16(const std::uint8_t* p) {
  return static_cast<std::uint16_t>((p[0] << 8) | p[1]);
}
std::uint32_t load_be32(const std::uint8_t* p) {
  return (std::uint32_t{p[0]} << 24) | (std::uint32_t{p[1]} << 16) | (std::uint32_t{p[2]} << 8) |
         p[3];
}
void store_be16(std::uint8_t* p, std::uint16_t v) {
  p[0] = static_cast<std::uint8_t>(v >> 8);
  p[1] = static_cast<std::uint8_t>(v);
}
void store_be32(std::uint8_t* p, std::uint32_t v) {
  p[0] = static_cast<std::uint8_t>(v >> 24);
  p[1] = static_cast<std::uint8_t>(v >> 16);
  p[2] = static_cast<std::uint8_t>(v >> 8);
  p[3] = static_cast<std::uint8_t>(v);
}

constexpr std::uint8_t kTcpFin = 0x01;
constexpr std::uint8_t kTcpPsh = 0x08;
constexpr std::uint8_t kTcpCwr = 0x80;
constexpr std::size_t kTcpMinHeaderLen = 20;
constexpr std::size_t kUdpHeaderLen = 8;

}  // namespace

std::optional<VnetHeader> parse_vnet_header(std::span<const std::uint8_t> bytes) {
  if (bytes.size() < kVnetHeaderLen) {
    return std::nullopt;
  }
  VnetHeader h;
  h.flags = bytes[0];
  h.gso_type = bytes[1];
  h.hdr_len = load_host16(&bytes[2]);
  h.gso_size = load_host16(&bytes[4]);
  h.csum_start = load_host16(&bytes[6]);
  h.csum_offset = load_host16(&bytes[8]);
  return h;
}

bool write_vnet_header(const VnetHeader& h, std::span<std::uint8_t> out) {
  if (out.size() < kVnetHeaderLen) {
    return false;
  }
  out[0] = h.flags;
  out[1] = h.gso_type;
  store_host16(&out[2], h.hdr_len);
  store_host16(&out[4], h.gso_size);
  store_host16(&out[6], h.csum_start);
  store_host16(&out[8], h.csum_offset);
  return true;
}

bool complete_checksum(std::span<std::uint8_t> frame, const VnetHeader& h) {
  if (!h.needs_csum()) {
    return true;
  }
  const std::size_t start = h.csum_start;
  const std::size_t field = start + h.csum_offset;
  // NB: the field must lie inside the summed range [start, end), else the sum
  // would not cover the pseudo-header seed it holds.
  if (start >= frame.size() || field + 2 > frame.size()) {
    return false;
  }
  std::uint16_t c = checksum_finish(checksum_add(frame.subspan(start)));
  if (c == 0) {
    c = 0xffff;
  }
  store_be16(&frame[field], c);
  return true;
}

std::optional<GsoPlan> plan_gso(std::span<const std::uint8_t> frame, const VnetHeader& h,
                                std::size_t max_ip_len) {
  std::uint8_t proto = 0;
  if (h.gso_kind() == kVnetGsoTcpv4) {
    proto = kIpProtoTcp;
  } else if (h.gso_kind() == kVnetGsoUdpL4) {
    proto = kIpProtoUdp;
  } else {
    return std::nullopt;
  }
  if (h.gso_size == 0) {
    return std::nullopt;
  }
  const auto parsed = parse_ipv4_frame(frame);
  if (!parsed || parsed->ip.protocol != proto || parsed->ip.is_fragment()) {
    return std::nullopt;
  }
  GsoPlan p;
  p.l4_protocol = proto;
  p.l3_offset = parsed->eth.header_len;
  p.l4_offset = p.l3_offset + parsed->ip.header_len();
  const auto l4 = parsed->payload;  // bounded by the IP total length
  std::size_t l4_hdr = 0;
  if (proto == kIpProtoTcp) {
    if (l4.size() < kTcpMinHeaderLen) {
      return std::nullopt;
    }
    l4_hdr = std::size_t{static_cast<std::uint8_t>(l4[12] >> 4)} * 4;
    if (l4_hdr < kTcpMinHeaderLen || l4_hdr > l4.size()) {
      return std::nullopt;
    }
  } else {
    l4_hdr = kUdpHeaderLen;
    if (l4.size() < l4_hdr) {
      return std::nullopt;
    }
  }
  p.payload_offset = p.l4_offset + l4_hdr;
  p.payload_len = l4.size() - l4_hdr;
  if (p.payload_len == 0) {
    return std::nullopt;
  }
  p.mss = h.gso_size;
  if (proto == kIpProtoTcp && max_ip_len > 0) {
    const std::size_t headers = p.payload_offset - p.l3_offset;
    if (max_ip_len <= headers) {
      return std::nullopt;
    }
    p.mss = std::min(p.mss, max_ip_len - headers);
  }
  p.segments = (p.payload_len + p.mss - 1) / p.mss;
  if (p.segments > kMaxGsoSegments) {
    return std::nullopt;
  }
  // Every segment's IP packet must be expressible in the 16-bit total length.
  if (p.payload_offset - p.l3_offset + p.mss > 0xffff) {
    return std::nullopt;
  }
  return p;
}

std::size_t write_gso_segment(std::span<const std::uint8_t> frame, const GsoPlan& plan,
                              std::size_t index, std::span<std::uint8_t> out) {
  // Re-check the plan against the frame: a plan is plain data and may come from
  // anywhere.
  if (index >= plan.segments || plan.segments > kMaxGsoSegments || plan.mss == 0 ||
      plan.mss > 0xffff || plan.l4_offset > frame.size() || plan.l3_offset > plan.l4_offset ||
      plan.l4_offset - plan.l3_offset < kIpv4MinHeaderLen || plan.l4_offset > plan.payload_offset ||
      plan.payload_offset > frame.size() || plan.payload_len > frame.size() - plan.payload_offset ||
      plan.mss * (plan.segments - 1) >= plan.payload_len ||
      (plan.l4_protocol != kIpProtoTcp && plan.l4_protocol != kIpProtoUdp)) {
    return 0;
  }
  const std::size_t l4_hdr = plan.payload_offset - plan.l4_offset;
  if ((plan.l4_protocol == kIpProtoTcp && l4_hdr < kTcpMinHeaderLen) ||
      (plan.l4_protocol == kIpProtoUdp && l4_hdr != kUdpHeaderLen)) {
    return 0;
  }
  const std::size_t chunk = plan.segment_payload(index);
  const std::size_t len = plan.payload_offset + chunk;
  const std::size_t ip_len = len - plan.l3_offset;
  if (out.size() < len || ip_len > 0xffff) {
    return 0;
  }
  std::memcpy(out.data(), frame.data(), plan.payload_offset);
  std::memcpy(out.data() + plan.payload_offset,
              frame.data() + plan.payload_offset + index * plan.mss, chunk);

  std::uint8_t* ip = out.data() + plan.l3_offset;
  const std::size_t ihl = plan.l4_offset - plan.l3_offset;
  store_be16(ip + 2, static_cast<std::uint16_t>(ip_len));
  store_be16(ip + 4, static_cast<std::uint16_t>(load_be16(ip + 4) + index));
  store_be16(ip + 10, 0);
  store_be16(ip + 10, internet_checksum(std::span<const std::uint8_t>(ip, ihl)));
  const Ipv4 src(load_be32(ip + 12));
  const Ipv4 dst(load_be32(ip + 16));

  std::uint8_t* l4 = out.data() + plan.l4_offset;
  const std::span<const std::uint8_t> segment(l4, len - plan.l4_offset);
  if (plan.l4_protocol == kIpProtoTcp) {
    store_be32(l4 + 4, static_cast<std::uint32_t>(load_be32(l4 + 4) + index * plan.mss));
    std::uint8_t flags = l4[13];
    if (index + 1 < plan.segments) {
      flags = static_cast<std::uint8_t>(flags & ~(kTcpFin | kTcpPsh));
    }
    if (index > 0) {
      flags = static_cast<std::uint8_t>(flags & ~kTcpCwr);
    }
    l4[13] = flags;
    store_be16(l4 + 16, 0);
    store_be16(l4 + 16, transport_checksum(src, dst, kIpProtoTcp, segment));
  } else {
    store_be16(l4 + 4, static_cast<std::uint16_t>(segment.size()));
    store_be16(l4 + 6, 0);
    std::uint16_t c = transport_checksum(src, dst, kIpProtoUdp, segment);
    store_be16(l4 + 6, c == 0 ? 0xffff : c);
  }
  return len;
}

}  // namespace weft::datapath
