#pragma once
// RAII and no-throw wrappers over the ldns calls the DNS core uses. ldns reports failures through
// status codes and NULL returns; these turn them into nullptr / nullopt / empty strings.
#include <ldns/ldns.h>

#include <cstdlib>
#include <memory>
#include <optional>
#include <string>

#include "weft/base/bytes.hpp"

namespace weft::dns::detail {

struct PktFree {
  void operator()(ldns_pkt* p) const noexcept { ldns_pkt_free(p); }
};
struct RrFree {
  void operator()(ldns_rr* p) const noexcept { ldns_rr_free(p); }
};
struct RdfFree {
  void operator()(ldns_rdf* p) const noexcept { ldns_rdf_deep_free(p); }
};
struct CFree {
  void operator()(void* p) const noexcept { std::free(p); }  // ldns allocates with malloc
};
using Pkt = std::unique_ptr<ldns_pkt, PktFree>;
using Rr = std::unique_ptr<ldns_rr, RrFree>;
using Rdf = std::unique_ptr<ldns_rdf, RdfFree>;

/// nullptr if ldns rejects the bytes.
inline Pkt parse(ByteSpan wire) {
  ldns_pkt* p = nullptr;
  if (ldns_wire2pkt(&p, wire.data(), wire.size()) != LDNS_STATUS_OK) {
    if (p != nullptr) ldns_pkt_free(p);
    return nullptr;
  }
  return Pkt(p);
}

/// Wire form with name compression; nullopt if ldns fails (allocation, bad rdata).
inline std::optional<Bytes> to_wire(const ldns_pkt* p) {
  std::uint8_t* buf = nullptr;
  std::size_t size = 0;
  if (ldns_pkt2wire(&buf, p, &size) != LDNS_STATUS_OK || buf == nullptr) {
    std::free(buf);
    return std::nullopt;
  }
  std::unique_ptr<std::uint8_t, CFree> own(buf);
  return Bytes(buf, buf + size);
}

inline std::string to_string(const ldns_rdf* r) {
  if (r == nullptr) return {};
  std::unique_ptr<char, CFree> s(ldns_rdf2str(r));
  return s ? std::string(s.get()) : std::string();
}

}  // namespace weft::dns::detail
