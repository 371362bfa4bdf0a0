#include "weft/dns/responder.hpp"

#include <algorithm>
#include <functional>
#include <vector>

#include "ldns_util.hpp"

namespace weft::dns {
namespace {

using detail::Pkt;
using detail::Rdf;
using detail::Rr;

/// A header-only reply for queries ldns cannot parse (or that we do not implement): ID, opcode
/// and RD echoed, QR set, no sections.
Bytes header_reply(ByteSpan query, Rcode rc) {
  Bytes out(kHeaderSize, 0);
  out[0] = query[0];
  out[1] = query[1];
  out[2] = static_cast<std::uint8_t>(0x80 | (query[2] & 0x79));  // QR, opcode, RD
  out[3] = static_cast<std::uint8_t>(static_cast<unsigned>(rc) & 0x0F);
  return out;
}

/// Go's dns.Msg.SetReply plus RA: same ID, opcode, RD and CD; QR; the first question.
Pkt reply_to(const ldns_pkt* q) {
  Pkt r(ldns_pkt_new());
  if (!r) return nullptr;
  ldns_pkt_set_id(r.get(), ldns_pkt_id(q));
  ldns_pkt_set_qr(r.get(), true);
  ldns_pkt_set_opcode(r.get(), ldns_pkt_get_opcode(q));
  ldns_pkt_set_rd(r.get(), ldns_pkt_rd(q));
  ldns_pkt_set_cd(r.get(), ldns_pkt_cd(q));
  ldns_pkt_set_ra(r.get(), true);
  if (ldns_pkt_qdcount(q) > 0 && ldns_rr_list_rr_count(ldns_pkt_question(q)) > 0) {
    Rr qr(ldns_rr_clone(ldns_rr_list_rr(ldns_pkt_question(q), 0)));
    if (!qr || !ldns_pkt_push_rr(r.get(), LDNS_SECTION_QUESTION, qr.get())) return nullptr;
    qr.release();
  }
  if (ldns_pkt_edns(q)) ldns_pkt_set_edns_udp_size(r.get(), kEdnsUdpSize);
  return r;
}

void set_rcode(ldns_pkt* r, Rcode rc) {
  auto v = static_cast<unsigned>(rc);
  ldns_pkt_set_rcode(r, static_cast<std::uint8_t>(v & 0x0F));
  if (v > 0x0F) ldns_pkt_set_edns_extended_rcode(r, static_cast<std::uint8_t>(v >> 4));
}

/// An RR owned by `owner` (cloned) with one rdata field.
Rr make_rr(const ldns_rdf* owner, ldns_rr_type type, std::uint32_t ttl, ldns_rdf* rdata) {
  Rdf data(rdata);
  Rr rr(ldns_rr_new());
  Rdf name(ldns_rdf_clone(owner));
  if (!rr || !data || !name) return nullptr;
  ldns_rr_set_owner(rr.get(), name.release());
  ldns_rr_set_type(rr.get(), type);
  ldns_rr_set_class(rr.get(), LDNS_RR_CLASS_IN);
  ldns_rr_set_ttl(rr.get(), ttl);
  if (!ldns_rr_push_rdf(rr.get(), data.get())) return nullptr;
  data.release();
  return rr;
}

bool push(ldns_pkt* p, ldns_pkt_section s, Rr rr) {
  if (!rr || !ldns_pkt_push_rr(p, s, rr.get())) return false;
  rr.release();
  return true;
}

std::optional<Bytes> wire_or_servfail(const ldns_pkt* p, ByteSpan query) {
  if (auto w = detail::to_wire(p)) return w;
  return header_reply(query, Rcode::servfail);
}

Answer answer(std::optional<Bytes> b) { return Answer{std::move(*b)}; }

/// Pushes clones of the first `n` records into a fresh copy of the reply.
std::optional<Bytes> encode_with(const std::function<Pkt()>& base, const std::vector<Rr>& rrs, std::size_t n, bool tc) {
  Pkt r = base();
  if (!r) return std::nullopt;
  for (std::size_t i = 0; i < n; ++i) {
    if (!push(r.get(), LDNS_SECTION_ANSWER, Rr(ldns_rr_clone(rrs[i].get())))) return std::nullopt;
  }
  ldns_pkt_set_tc(r.get(), tc);
  return detail::to_wire(r.get());
}

/// Answer records that all encode to the same size (same owner, compressed to a pointer to the
/// question; same type): as many as fit in `max`, with TC when some were left out (Weave's
/// makeResponse, computed rather than searched). Weave never cuts a single record.
std::optional<Bytes> fill_answers(const std::function<Pkt()>& base, const std::vector<Rr>& rrs, std::size_t max) {
  auto all = encode_with(base, rrs, rrs.size(), false);
  if (!all || all->size() <= max || rrs.size() <= 1) return all;
  auto none = encode_with(base, rrs, 0, false);
  if (!none) return std::nullopt;
  const std::size_t per = std::max<std::size_t>(1, (all->size() - none->size()) / rrs.size());
  const std::size_t fit = max > none->size() ? std::min(rrs.size(), (max - none->size()) / per) : 0;
  return encode_with(base, rrs, fit, true);
}

std::size_t max_size_for(const ldns_pkt* q, Transport t) {
  if (t == Transport::tcp) return kMaxMessageSize;
  if (ldns_pkt_edns(q)) return std::max<std::size_t>(kMinUdpSize, ldns_pkt_edns_udp_size(q));
  return kMinUdpSize;
}

}  // namespace

Responder::Responder(ResponderConfig config, const NameLookup& names) : config_(std::move(config)), names_(names) {
  config_.domain = fqdn(config_.domain);
  domain_lower_ = to_lower(config_.domain);
}

Reply Responder::respond(ByteSpan query, Transport transport, Random& rng) const {
  if (query.size() < kHeaderSize || header_qr(query)) return Drop{};
  if (header_opcode(query) != 0) return Answer{header_reply(query, Rcode::notimp)};
  Pkt q = detail::parse(query);
  if (!q) return Answer{header_reply(query, Rcode::formerr)};

  const std::size_t max = max_size_for(q.get(), transport);
  Pkt r = reply_to(q.get());
  if (!r) return Answer{header_reply(query, Rcode::servfail)};

  if (ldns_pkt_edns(q.get()) && ldns_pkt_edns_version(q.get()) > 0) {
    set_rcode(r.get(), Rcode::badvers);
    return answer(wire_or_servfail(r.get(), query));
  }
  auto name_error = [&] {
    set_rcode(r.get(), Rcode::nxdomain);
    return answer(wire_or_servfail(r.get(), query));
  };
  if (ldns_pkt_qdcount(q.get()) != 1 || ldns_rr_list_rr_count(ldns_pkt_question(q.get())) != 1) return name_error();

  const ldns_rr* question = ldns_rr_list_rr(ldns_pkt_question(q.get()), 0);
  const ldns_rdf* owner = ldns_rr_owner(question);
  const auto qtype = static_cast<std::uint16_t>(ldns_rr_get_type(question));
  QueryInfo info;
  info.id = ldns_pkt_id(q.get());
  info.qname = detail::to_string(owner);
  info.qtype = qtype;
  info.qclass = static_cast<std::uint16_t>(ldns_rr_get_class(question));
  info.edns = ldns_pkt_edns(q.get());
  info.edns_size = ldns_pkt_edns_udp_size(q.get());
  info.transport = transport;
  info.max_size = max;
  if (info.qname.empty()) return answer(std::optional<Bytes>(header_reply(query, Rcode::formerr)));
  const std::string lname = to_lower(info.qname);

  if (is_subdomain(lname, kReverseDomain)) {
    if (qtype != rrtype::PTR) return name_error();
    const std::string_view suffix = ".in-addr.arpa.";
    if (lname.size() <= suffix.size() || lname.substr(lname.size() - suffix.size()) != suffix) return name_error();
    auto rev = Ipv4::parse(std::string_view(lname).substr(0, lname.size() - suffix.size()));
    if (!rev) return name_error();
    const auto v = rev->value();
    const Ipv4 ip((v >> 24) | ((v >> 8) & 0xFF00) | ((v << 8) & 0xFF0000) | (v << 24));
    auto host = names_.reverse_lookup(ip);
    if (!host) return Forward{std::move(info)};
    Rdf target(ldns_dname_new_frm_str(host->c_str()));
    if (!target) {
      set_rcode(r.get(), Rcode::servfail);
      return answer(wire_or_servfail(r.get(), query));
    }
    ldns_pkt_set_aa(r.get(), true);
    if (!push(r.get(), LDNS_SECTION_ANSWER, make_rr(owner, LDNS_RR_TYPE_PTR, config_.ttl, target.release()))) {
      return Answer{header_reply(query, Rcode::servfail)};
    }
    return answer(wire_or_servfail(r.get(), query));
  }

  std::string hostname;
  if (is_subdomain(lname, domain_lower_)) {
    hostname = info.qname;
  } else if (lname != "." && count_dots(lname) == 1) {
    hostname = info.qname + config_.domain;  // single label: complete it
  } else {
    return Forward{std::move(info)};
  }

  auto addrs = names_.lookup(hostname);
  if (addrs.empty()) return name_error();
  ldns_pkt_set_aa(r.get(), true);
  if (qtype != rrtype::A) return answer(wire_or_servfail(r.get(), query));

  // Fisher-Yates, as Weave's shuffleAnswers.
  for (std::size_t i = addrs.size(); i > 1; --i) std::swap(addrs[i - 1], addrs[rng.uniform(i)]);
  std::vector<Rr> rrs;
  rrs.reserve(addrs.size());
  for (auto a : addrs) {
    const std::uint8_t ip[4] = {static_cast<std::uint8_t>(a.value() >> 24), static_cast<std::uint8_t>(a.value() >> 16),
                                static_cast<std::uint8_t>(a.value() >> 8), static_cast<std::uint8_t>(a.value())};
    auto rr = make_rr(owner, LDNS_RR_TYPE_A, config_.ttl, ldns_rdf_new_frm_data(LDNS_RDF_TYPE_A, 4, ip));
    if (!rr) return Answer{header_reply(query, Rcode::servfail)};
    rrs.push_back(std::move(rr));
  }
  auto base = [&]() -> Pkt {
    Pkt b = reply_to(q.get());
    if (b) ldns_pkt_set_aa(b.get(), true);
    return b;
  };
  auto w = fill_answers(base, rrs, max);
  if (!w) return Answer{header_reply(query, Rcode::servfail)};
  return Answer{std::move(*w)};
}

Bytes error_reply(ByteSpan query, Rcode rc) {
  if (query.size() < kHeaderSize) return {};
  Pkt q = detail::parse(query);
  if (!q) return header_reply(query, rc);
  Pkt r = reply_to(q.get());
  if (!r) return header_reply(query, rc);
  set_rcode(r.get(), rc);
  auto w = detail::to_wire(r.get());
  return w ? std::move(*w) : header_reply(query, rc);
}

Result<Bytes> accept_upstream_reply(ByteSpan reply, std::uint16_t sent_id, const QueryInfo& q) {
  if (reply.size() < kHeaderSize) return make_error("upstream reply too short ({} bytes)", reply.size());
  if (!header_qr(reply)) return make_error("upstream sent a query, not a reply");
  if (header_id(reply) != sent_id)
    return make_error("upstream reply has ID {}, expected {}", header_id(reply), sent_id);
  Pkt p = detail::parse(reply);
  if (!p) return make_error("upstream reply is malformed");
  if (ldns_rr_list_rr_count(ldns_pkt_question(p.get())) > 0) {
    const ldns_rr* question = ldns_rr_list_rr(ldns_pkt_question(p.get()), 0);
    if (!iequals(detail::to_string(ldns_rr_owner(question)), q.qname) ||
        static_cast<std::uint16_t>(ldns_rr_get_type(question)) != q.qtype ||
        static_cast<std::uint16_t>(ldns_rr_get_class(question)) != q.qclass) {
      return make_error("upstream reply is for another question");
    }
  }
  if (reply.size() <= q.max_size) return with_id(reply, q.id);
  ldns_pkt_set_id(p.get(), q.id);
  if (auto w = detail::to_wire(p.get()); w && w->size() <= q.max_size) return std::move(*w);
  // Still too big: keep only the question (and OPT) and let the client retry over TCP.
  Pkt cut(ldns_pkt_new());
  if (!cut) return make_error("out of memory");
  ldns_pkt_set_id(cut.get(), q.id);
  ldns_pkt_set_qr(cut.get(), true);
  ldns_pkt_set_opcode(cut.get(), ldns_pkt_get_opcode(p.get()));
  ldns_pkt_set_aa(cut.get(), ldns_pkt_aa(p.get()));
  ldns_pkt_set_rd(cut.get(), ldns_pkt_rd(p.get()));
  ldns_pkt_set_ra(cut.get(), ldns_pkt_ra(p.get()));
  ldns_pkt_set_cd(cut.get(), ldns_pkt_cd(p.get()));
  ldns_pkt_set_ad(cut.get(), ldns_pkt_ad(p.get()));
  ldns_pkt_set_rcode(cut.get(), ldns_pkt_get_rcode(p.get()));
  ldns_pkt_set_tc(cut.get(), true);
  if (ldns_rr_list_rr_count(ldns_pkt_question(p.get())) > 0) {
    if (!push(cut.get(), LDNS_SECTION_QUESTION, Rr(ldns_rr_clone(ldns_rr_list_rr(ldns_pkt_question(p.get()), 0))))) {
      return make_error("out of memory");
    }
  }
  if (ldns_pkt_edns(p.get())) {
    ldns_pkt_set_edns_udp_size(cut.get(), ldns_pkt_edns_udp_size(p.get()));
    ldns_pkt_set_edns_extended_rcode(cut.get(), ldns_pkt_edns_extended_rcode(p.get()));
  }
  auto w = detail::to_wire(cut.get());
  if (!w) return make_error("cannot encode the truncated reply");
  return std::move(*w);
}

}  // namespace weft::dns
