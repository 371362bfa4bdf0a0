#pragma once
// Byte buffers and bounds-checked cursors (house style R7). ByteReader never reads past the end:
// every accessor reports truncation through its return value, so decoders built on it cannot
// overrun or throw on hostile input.
#include <cstddef>
#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

namespace weft {

// NB: uint8_t rather than std::byte: the wire codecs do arithmetic on almost every byte, and
// libsodium, pcap and the socket APIs all take unsigned char buffers.
using Bytes = std::vector<std::uint8_t>;
using ByteSpan = std::span<const std::uint8_t>;

class ByteReader {
 public:
  explicit ByteReader(ByteSpan data) : data_(data) {}
  std::size_t remaining() const { return data_.size() - pos_; }
  std::size_t position() const { return pos_; }
  bool empty() const { return remaining() == 0; }
  std::optional<std::uint8_t> u8();
  std::optional<std::uint16_t> u16be();
  std::optional<std::uint32_t> u32be();
  std::optional<std::uint64_t> u64be();
  /// A view of the next n bytes, valid as long as the underlying buffer.
  std::optional<ByteSpan> take(std::size_t n);
  ByteSpan rest() const { return data_.subspan(pos_); }

 private:
  ByteSpan data_;
  std::size_t pos_ = 0;
};

/// Appends big-endian values to a Bytes buffer.
class ByteWriter {
 public:
  explicit ByteWriter(Bytes& out) : out_(out) {}
  void u8(std::uint8_t v) { out_.push_back(v); }
  void u16be(std::uint16_t v);
  void u32be(std::uint32_t v);
  void u64be(std::uint64_t v);
  void put(ByteSpan b) { out_.insert(out_.end(), b.begin(), b.end()); }
  void put(std::string_view s) { out_.insert(out_.end(), s.begin(), s.end()); }

 private:
  Bytes& out_;
};

std::string to_hex(ByteSpan b);
/// Parses hex, ignoring whitespace; nullopt on any other character or an odd digit count.
std::optional<Bytes> from_hex(std::string_view s);
inline Bytes to_bytes(std::string_view s) { return Bytes(s.begin(), s.end()); }

}  // namespace weft
