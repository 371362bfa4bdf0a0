#pragma once
// weaveDNS's answering logic (spec §7.2) as a pure function of the query bytes: an answer to send,
// a query to forward upstream, or nothing. The Asio server (dns/net) only moves bytes.
//
//   name in the domain, or single-label ("db." -> "db.weave.local.")
//       A      -> every live address (case-insensitive match), shuffled, TTL, AA+RA
//       other  -> NOERROR, no answers, AA+RA (the name exists: RFC 4074)
//       none   -> NXDOMAIN
//   *.in-addr.arpa.   PTR -> the first live entry with that address, else forwarded;
//                     other qtypes and unparsable addresses -> NXDOMAIN
//   anything else     -> forwarded (the root "." too, where Weave answered NXDOMAIN)
//   QDCOUNT != 1      -> NXDOMAIN;  unparsable -> FORMERR;  opcode != QUERY -> NOTIMP;
//   EDNS version > 0  -> BADVERS;   a response (QR set) or < 12 bytes -> dropped
//
// Size: over UDP a reply holds at most 512 bytes, or the query's EDNS0 payload size when larger;
// answers that do not fit are cut and TC is set (the client retries over TCP). TCP: 65535.
// A query with EDNS0 gets an OPT record back (payload size 4096), which Weave omitted.
#include <cstdint>
#include <string>
#include <variant>

#include "weft/base/bytes.hpp"
#include "weft/base/random.hpp"
#include "weft/dns/message.hpp"
#include "weft/dns/nameserver.hpp"

namespace weft::dns {

struct ResponderConfig {
  std::string domain{kDefaultDomain};  ///< --dns-domain (made absolute)
  std::uint32_t ttl = 1;               ///< --dns-ttl
};

struct Answer {
  Bytes message;
};
struct Forward {
  QueryInfo query;  ///< forward the query bytes as they came, under a fresh ID
};
struct Drop {};
using Reply = std::variant<Answer, Forward, Drop>;

class Responder {
 public:
  /// `names` must outlive the Responder; it is read on the caller's thread.
  Responder(ResponderConfig config, const NameLookup& names);
  /// Never throws; any byte string is fine.
  Reply respond(ByteSpan query, Transport transport, Random& rng) const;
  const ResponderConfig& config() const { return config_; }

 private:
  ResponderConfig config_;
  std::string domain_lower_;
  const NameLookup& names_;
};

/// The reply with `rc` to `query` (header, its first question, RA; OPT if it had EDNS0). Used for
/// SERVFAIL when no upstream answered. Header-only when the query does not parse.
Bytes error_reply(ByteSpan query, Rcode rc);

/// Checks an upstream's `reply` to the query `q` that went out with ID `sent_id`: a response with
/// that ID whose question, if present, is q's (case-insensitive). Returns it under q's ID, fitted
/// to q.max_size: recompressed if needed, else cut to header + question with TC set.
Result<Bytes> accept_upstream_reply(ByteSpan reply, std::uint16_t sent_id, const QueryInfo& q);

}  // namespace weft::dns
