#include "weft/datapath/checksum.hpp"

namespace weft::datapath {

std::uint32_t checksum_add(std::span<const std::uint8_t> data, std::uint32_t sum) {
  // NB: a 64-bit accumulator cannot overflow for any span shorter than 2^48 bytes; folding once
  // at the end keeps the loop to one add per 16-bit word.
  std::uint64_t acc = sum;
  std::size_t i = 0;
  for (; i + 1 < data.size(); i += 2) {
    acc += static_cast<std::uint32_t>((data[i] << 8) | data[i + 1]);
  }
  if (i < data.size()) {
    acc += static_cast<std::uint32_t>(data[i] << 8);
  }
  while ((acc >> 32) != 0) {
    acc = (acc & 0xffffffffu) + (acc >> 32);
  }
  return static_cast<std::uint32_t>(acc);
}

std::uint16_t checksum_finish(std::uint32_t sum) {
  while ((sum >> 16) != 0) {
    sum = (sum & 0xffffu) + (sum >> 16);
  }
  return static_cast<std::uint16_t>(~sum & 0xffffu);
}

std::uint16_t internet_checksum(std::span<const std::uint8_t> data) {
  return checksum_finish(checksum_add(data));
}

std::uint16_t transport_checksum(Ipv4 src, Ipv4 dst, std::uint8_t protocol,
                                 std::span<const std::uint8_t> segment) {
  std::uint64_t sum = 0;
  sum += src.value() >> 16;
  sum += src.value() & 0xffffu;
  sum += dst.value() >> 16;
  sum += dst.value() & 0xffffu;
  sum += protocol;
  sum += segment.size() & 0xffffu;
  sum += (segment.size() >> 16) & 0xffffu;  // only for jumbo segments, which IPv4 cannot carry
  sum = (sum & 0xffffffffu) + (sum >> 32);
  return checksum_finish(checksum_add(segment, static_cast<std::uint32_t>(sum)));
}

}  // namespace weft::datapath
