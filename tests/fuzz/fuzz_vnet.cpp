// Fuzzes datapath/afpacket's virtio_net_hdr handling: the header decoder,
// partial-checksum completion and GSO segmentation ("GRO-segment parsing" in
// issue 8), with model checks:
//   * decode/encode round-trips;
//   * complete_checksum either refuses (frame untouched) or leaves a range that
//   verifies (with
//     the pseudo-header seed the field held), and
//     changes nothing but the checksum field;
//   * plan_gso's plan lies inside the frame; each segment written into a buffer
//   of exactly its
//     size parses as IPv4, has valid IP and L4 checksums, fits max_ip_len
//     (TCP), and the segments' payloads tile the original payload;
//   * write_gso_segment with a corrupted plan or a short buffer never writes
//   out of bounds.
//
// Input: <[10] virtio_net_hdr> <[2] BE max_ip_len> <[2] plan mutation>
// <Ethernet frame>
#include "fuzz_check.hpp"
#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <span>
#include <vector>

#include "weft/datapath/checksum.hpp"
#include "weft/datapath/ipv4_header.hpp"
#include "weft/datapath/vnet_header.hpp"

namespace {

using namespace weft;
using namespace weft::datapath;


void check_complete(std::span<const std::uint8_t> frame, const VnetHeader& h) {
  std::vector<std::uint8_t> f(frame.begin(), frame.end());
  const bool ok = complete_checksum(f, h);
  if (!ok) {
    FUZZ_CHECK(std::equal(f.begin(), f.end(), frame.begin(), frame.end()));
    return;
  }
  if (!h.needs_csum()) {
    FUZZ_CHECK(std::equal(f.begin(), f.end(), frame.begin(), frame.end()));
    return;
  }
  const std::size_t field = std::size_t{h.csum_start} + h.csum_offset;
  FUZZ_CHECK(h.csum_start < f.size() && field + 2 <= f.size());
  // The field held the pseudo-header seed, which the receiver adds back when it
  // verifies (only meaningful when the field is 16-bit aligned within the
  // summed range).
  if (h.csum_offset % 2 == 0) {
    const std::uint32_t seed = (std::uint32_t{frame[field]} << 8) | frame[field + 1];
    FUZZ_CHECK(checksum_finish(checksum_add(std::span(f).subspan(h.csum_start), seed)) == 0);
  }
  for (std::size_t i = 0; i < f.size(); ++i) {
    if (i != field && i != field + 1) {
      FUZZ_CHECK(f[i] == frame[i]);
    }
  }
}

void check_segments(std::span<const std::uint8_t> frame, const VnetHeader& h,
                    std::size_t max_ip_len, std::uint16_t mutation) {
  auto plan = plan_gso(frame, h, max_ip_len);
  if (!plan) {
    return;
  }
  const GsoPlan& p = *plan;
  FUZZ_CHECK(p.l4_protocol == kIpProtoTcp || p.l4_protocol == kIpProtoUdp);
  FUZZ_CHECK(p.l3_offset < p.l4_offset && p.l4_offset < p.payload_offset);
  FUZZ_CHECK(p.payload_offset + p.payload_len <= frame.size());
  FUZZ_CHECK(p.mss > 0 && p.segments >= 1 && p.segments <= kMaxGsoSegments);
  FUZZ_CHECK(p.mss * (p.segments - 1) < p.payload_len && p.payload_len <= p.mss * p.segments);
  std::vector<std::uint8_t> joined;
  for (std::size_t i = 0; i < p.segments; ++i) {
    const std::size_t len = p.segment_len(i);
    std::vector<std::uint8_t> out(len);
    FUZZ_CHECK(write_gso_segment(frame, p, i, out) == len);
    auto parsed = parse_ipv4_frame(out);
    FUZZ_CHECK(parsed.has_value());
    FUZZ_CHECK(parsed->ip.checksum_ok);
    FUZZ_CHECK(parsed->ip.protocol == p.l4_protocol);
    FUZZ_CHECK(parsed->packet.size() == len - p.l3_offset);
    if (p.l4_protocol == kIpProtoTcp && max_ip_len > 0) {
      FUZZ_CHECK(parsed->packet.size() <= max_ip_len);
    }
    FUZZ_CHECK(transport_checksum(parsed->ip.src, parsed->ip.dst, p.l4_protocol, parsed->payload) ==
               0);
    const auto payload = std::span<const std::uint8_t>(out).subspan(p.payload_offset);
    joined.insert(joined.end(), payload.begin(), payload.end());
    if (len > 0) {
      std::vector<std::uint8_t> small(len - 1);
      FUZZ_CHECK(write_gso_segment(frame, p, i, small) == 0);
    }
  }
  const auto orig = frame.subspan(p.payload_offset, p.payload_len);
  FUZZ_CHECK(std::equal(joined.begin(), joined.end(), orig.begin(), orig.end()));

  // A corrupted plan: whatever it says, no out-of-bounds access (ASan checks).
  GsoPlan bad = p;
  const std::size_t delta = mutation & 0x0fff;
  switch (mutation >> 12) {
    case 0:
      bad.l3_offset += delta;
      break;
    case 1:
      bad.l4_offset += delta;
      break;
    case 2:
      bad.payload_offset += delta;
      break;
    case 3:
      bad.payload_len += delta;
      break;
    case 4:
      bad.mss = delta;
      break;
    case 5:
      bad.segments += delta;
      break;
    case 6:
      bad.l3_offset -= delta;
      break;
    case 7:
      bad.payload_offset -= delta;
      break;
    case 8:
      bad.l4_protocol = static_cast<std::uint8_t>(delta);
      break;
    default:
      bad.mss += delta;
      break;
  }
  std::vector<std::uint8_t> out(std::min<std::size_t>(bad.max_segment_len(), 70000));
  for (std::size_t i = 0; i < std::min<std::size_t>(bad.segments, 4); ++i) {
    const std::size_t n = write_gso_segment(frame, bad, i, out);
    FUZZ_CHECK(n <= out.size());
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  if (size < kVnetHeaderLen + 4) {
    return 0;
  }
  const std::span<const std::uint8_t> in(data, size);
  auto h = parse_vnet_header(in);
  FUZZ_CHECK(h.has_value());
  std::uint8_t back[kVnetHeaderLen];
  FUZZ_CHECK(write_vnet_header(*h, back));
  FUZZ_CHECK(std::equal(back, back + kVnetHeaderLen, data));
  const std::size_t max_ip_len = (std::size_t{data[10]} << 8) | data[11];
  const std::uint16_t mutation = static_cast<std::uint16_t>((data[12] << 8) | data[13]);
  // Exact-size copy so any read past the frame is caught.
  const std::vector<std::uint8_t> frame(in.begin() + 14, in.end());
  check_complete(frame, *h);
  check_segments(frame, *h, max_ip_len, mutation);
  return 0;
}
