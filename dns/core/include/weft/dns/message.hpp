#pragma once
// DNS messages (RFC 1035 §4.1) as far as weaveDNS needs them. Parsing and building go through
// ldns, wrapped so that nothing throws and every failure is a Result or nullopt.
//
//   <[2] ID> <[2] QR|Opcode(4)|AA|TC|RD|RA|Z|AD|CD|RCODE(4)> <[2] QDCOUNT> <[2] ANCOUNT>
//   <[2] NSCOUNT> <[2] ARCOUNT> questions answers authority additional (EDNS0 OPT lives here)
#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "weft/base/bytes.hpp"
#include "weft/base/result.hpp"

namespace weft::dns {

inline constexpr std::size_t kHeaderSize = 12;
/// Largest reply over UDP without EDNS0 (RFC 1035 §4.2.1).
inline constexpr std::size_t kMinUdpSize = 512;
/// The EDNS0 payload size we advertise, and the buffer for upstream UDP replies (as Weave).
inline constexpr std::uint16_t kEdnsUdpSize = 4096;
inline constexpr std::size_t kMaxMessageSize = 65535;

namespace rrtype {
inline constexpr std::uint16_t A = 1, NS = 2, CNAME = 5, SOA = 6, PTR = 12, MX = 15, TXT = 16, AAAA = 28, SRV = 33,
                               OPT = 41, ANY = 255;
}  // namespace rrtype
inline constexpr std::uint16_t kClassIN = 1;

enum class Rcode : std::uint16_t {
  noerror = 0,
  formerr = 1,
  servfail = 2,
  nxdomain = 3,
  notimp = 4,
  refused = 5,
  badvers = 16,  ///< extended (EDNS0): upper bits travel in the OPT record
};

enum class Transport { udp, tcp };

/// What a query asks, plus the size limit of its reply.
struct QueryInfo {
  std::uint16_t id = 0;
  std::string qname;  ///< presentation format, case as asked ("Web.weave.local.")
  std::uint16_t qtype = 0;
  std::uint16_t qclass = 0;
  bool edns = false;
  std::uint16_t edns_size = 0;
  Transport transport = Transport::udp;
  /// UDP: max(512, EDNS0 payload size); TCP: 65535.
  std::size_t max_size = kMinUdpSize;
};

/// A decoded resource record or question (questions have no ttl/rdata). rdata is ldns's
/// presentation form of the RDATA fields, space-separated ("10.32.0.1", "web.weave.local.").
struct Record {
  std::string name;
  std::uint16_t type = 0;
  std::uint16_t rclass = 0;
  std::uint32_t ttl = 0;
  std::string rdata;
};

/// A decoded message, for tests, tools and the forwarder's checks.
struct Message {
  std::uint16_t id = 0;
  bool qr = false, aa = false, tc = false, rd = false, ra = false, cd = false;
  std::uint8_t opcode = 0;
  std::uint16_t rcode = 0;                                        ///< including EDNS0 extended bits
  std::vector<Record> questions, answers, authority, additional;  ///< additional: without OPT
  bool edns = false;
  std::uint16_t edns_size = 0;
  std::uint8_t edns_version = 0;
};

Result<Message> parse_message(ByteSpan wire);

/// A query for `name` (presentation format), RD set, with an EDNS0 OPT when `edns_size` is given.
/// nullopt if the name is not a valid domain name.
std::optional<Bytes> make_query(std::uint16_t id, std::string_view name, std::uint16_t qtype,
                                std::optional<std::uint16_t> edns_size = std::nullopt);

// Header fields read straight from the bytes (callers check the size first).
inline std::uint16_t header_id(ByteSpan m) { return static_cast<std::uint16_t>((m[0] << 8) | m[1]); }
inline bool header_qr(ByteSpan m) { return (m[2] & 0x80) != 0; }
inline std::uint8_t header_opcode(ByteSpan m) { return static_cast<std::uint8_t>((m[2] >> 3) & 0x0F); }
inline bool header_tc(ByteSpan m) { return (m[2] & 0x02) != 0; }
inline std::uint8_t header_rcode(ByteSpan m) { return m[3] & 0x0F; }
/// A copy of `msg` with its ID replaced (msg must hold a header).
Bytes with_id(ByteSpan msg, std::uint16_t id);

}  // namespace weft::dns
