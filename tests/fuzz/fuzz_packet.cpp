// Fuzzes datapath/core's packet utilities: the Ethernet/IPv4 parser, the IPv4 fragmenter and the
// ICMP 3/4 synthesizer, with model checks:
//   * parsed spans lie inside the frame and agree with the header fields;
//   * fragment_ipv4 refuses DF; its pieces parse, fit the MTU, carry valid header checksums and
//     tile the original payload exactly (a naive reassembly gives back the original bytes);
//   * make_icmp_frag_needed's reply parses, both checksums verify, addresses are swapped;
//   * internet_checksum matches a naive reference.
//
// Input: <[2] BE mtu> <Ethernet frame>
#include "fuzz_check.hpp"
#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <span>
#include <vector>

#include "weft/datapath/checksum.hpp"
#include "weft/datapath/ethernet.hpp"
#include "weft/datapath/fragment.hpp"
#include "weft/datapath/icmp.hpp"
#include "weft/datapath/ipv4_header.hpp"

namespace {

using namespace weft;
using namespace weft::datapath;


std::uint16_t naive_checksum(std::span<const std::uint8_t> b) {
  std::uint32_t sum = 0;
  for (std::size_t i = 0; i < b.size(); ++i) {
    sum += (i % 2 == 0) ? std::uint32_t{b[i]} << 8 : b[i];
    sum = (sum & 0xffff) + (sum >> 16);
  }
  return static_cast<std::uint16_t>(~sum);
}

bool inside(std::span<const std::uint8_t> outer, std::span<const std::uint8_t> inner) {
  return inner.empty() || (inner.data() >= outer.data() &&
                           inner.data() + inner.size() <= outer.data() + outer.size());
}

void check_parse(std::span<const std::uint8_t> frame) {
  auto eth = parse_ethernet(frame);
  auto f = parse_ipv4_frame(frame);
  if (!f) {
    return;
  }
  FUZZ_CHECK(eth && eth->ethertype == kEtherTypeIpv4);
  FUZZ_CHECK(inside(frame, f->l2) && inside(frame, f->packet) && inside(frame, f->options) &&
             inside(frame, f->payload));
  FUZZ_CHECK(f->packet.size() == f->ip.total_length);
  FUZZ_CHECK(f->l2.size() + f->packet.size() <= frame.size());
  FUZZ_CHECK(f->options.size() + 20 == f->ip.header_len());
  FUZZ_CHECK(f->payload.size() == f->ip.payload_len());
  FUZZ_CHECK(f->ip.checksum_ok == (naive_checksum(f->packet.first(f->ip.header_len())) == 0));
}

void check_fragment(std::span<const std::uint8_t> frame, std::uint16_t mtu) {
  std::vector<Bytes> out;
  const bool ok = fragment_ipv4(FrameView{frame}, mtu, out);
  auto orig = parse_ipv4_frame(frame);
  if (!ok) {
    FUZZ_CHECK(out.empty());
    return;
  }
  FUZZ_CHECK(orig && !orig->ip.df && !out.empty());
  const bool whole = orig->ip.total_length <= mtu;
  std::size_t next = orig->ip.frag_offset_bytes();
  Bytes payload;
  for (std::size_t i = 0; i < out.size(); ++i) {
    auto p = parse_ipv4_frame(FrameView{out[i]});
    FUZZ_CHECK(p);
    FUZZ_CHECK(out[i].size() == p->l2.size() + p->packet.size());
    FUZZ_CHECK(std::equal(p->l2.begin(), p->l2.end(), orig->l2.begin(), orig->l2.end()));
    FUZZ_CHECK(p->ip.checksum_ok || (whole && !orig->ip.checksum_ok));
    FUZZ_CHECK(whole || p->ip.total_length <= mtu);
    FUZZ_CHECK(p->ip.id == orig->ip.id && p->ip.protocol == orig->ip.protocol &&
               p->ip.src == orig->ip.src && p->ip.dst == orig->ip.dst && p->ip.ttl == orig->ip.ttl);
    FUZZ_CHECK(p->ip.frag_offset_bytes() == next);
    const bool last = i + 1 == out.size();
    FUZZ_CHECK(p->ip.mf == (last ? orig->ip.mf : true));
    FUZZ_CHECK(last || p->payload.size() % 8 == 0);
    payload.insert(payload.end(), p->payload.begin(), p->payload.end());
    next += p->payload.size();
  }
  FUZZ_CHECK(
      std::equal(payload.begin(), payload.end(), orig->payload.begin(), orig->payload.end()));
}

void check_icmp(std::span<const std::uint8_t> frame, std::uint16_t mtu) {
  const Bytes r = make_icmp_frag_needed(FrameView{frame}, mtu);
  auto orig = parse_ipv4_frame(frame);
  if (r.empty()) {
    return;
  }
  FUZZ_CHECK(orig);
  auto p = parse_ipv4_frame(FrameView{r});
  FUZZ_CHECK(p);
  FUZZ_CHECK(p->ip.checksum_ok && p->ip.ttl == 64 && p->ip.protocol == kIpProtoIcmp);
  FUZZ_CHECK(p->ip.src == orig->ip.dst && p->ip.dst == orig->ip.src);
  FUZZ_CHECK(p->eth.src == orig->eth.dst && p->eth.dst == orig->eth.src);
  FUZZ_CHECK(naive_checksum(p->payload) == 0);
  FUZZ_CHECK(p->payload.size() >= 8 + 20 && p->payload[0] == 3 && p->payload[1] == 4);
  FUZZ_CHECK(((p->payload[6] << 8) | p->payload[7]) == mtu);
  const std::size_t quoted = orig->ip.header_len() + std::min<std::size_t>(8, orig->payload.size());
  FUZZ_CHECK(p->payload.size() == 8 + quoted);
  FUZZ_CHECK(std::equal(orig->packet.begin(),
                        orig->packet.begin() + static_cast<std::ptrdiff_t>(quoted),
                        p->payload.begin() + 8));
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  if (size < 2) {
    return 0;
  }
  const auto mtu = static_cast<std::uint16_t>((data[0] << 8) | data[1]);
  std::span<const std::uint8_t> frame(data + 2, size - 2);
  FUZZ_CHECK(internet_checksum(frame) == naive_checksum(frame));
  check_parse(frame);
  check_fragment(frame, mtu);
  check_icmp(frame, mtu);
  return 0;
}
