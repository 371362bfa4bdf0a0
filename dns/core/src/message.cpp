#include "weft/dns/message.hpp"

#include "ldns_util.hpp"

namespace weft::dns {
namespace {

Record record_of(const ldns_rr* rr, bool question) {
  Record r;
  r.name = detail::to_string(ldns_rr_owner(rr));
  r.type = static_cast<std::uint16_t>(ldns_rr_get_type(rr));
  r.rclass = static_cast<std::uint16_t>(ldns_rr_get_class(rr));
  if (question) return r;
  r.ttl = ldns_rr_ttl(rr);
  for (std::size_t i = 0; i < ldns_rr_rd_count(rr); ++i) {
    if (i > 0) r.rdata.push_back(' ');
    r.rdata += detail::to_string(ldns_rr_rdf(rr, i));
  }
  return r;
}

std::vector<Record> records_of(const ldns_rr_list* list, bool question) {
  std::vector<Record> out;
  if (list == nullptr) return out;
  for (std::size_t i = 0; i < ldns_rr_list_rr_count(list); ++i) {
    out.push_back(record_of(ldns_rr_list_rr(list, i), question));
  }
  return out;
}

}  // namespace

Result<Message> parse_message(ByteSpan wire) {
  auto p = detail::parse(wire);
  if (!p) return make_error("dns: malformed message ({} bytes)", wire.size());
  Message m;
  m.id = ldns_pkt_id(p.get());
  m.qr = ldns_pkt_qr(p.get());
  m.aa = ldns_pkt_aa(p.get());
  m.tc = ldns_pkt_tc(p.get());
  m.rd = ldns_pkt_rd(p.get());
  m.ra = ldns_pkt_ra(p.get());
  m.cd = ldns_pkt_cd(p.get());
  m.opcode = static_cast<std::uint8_t>(ldns_pkt_get_opcode(p.get()));
  m.rcode = static_cast<std::uint16_t>(ldns_pkt_get_rcode(p.get()) |
                                       (static_cast<unsigned>(ldns_pkt_edns_extended_rcode(p.get())) << 4));
  m.questions = records_of(ldns_pkt_question(p.get()), true);
  m.answers = records_of(ldns_pkt_answer(p.get()), false);
  m.authority = records_of(ldns_pkt_authority(p.get()), false);
  m.additional = records_of(ldns_pkt_additional(p.get()), false);
  m.edns = ldns_pkt_edns(p.get());
  m.edns_size = ldns_pkt_edns_udp_size(p.get());
  m.edns_version = ldns_pkt_edns_version(p.get());
  return m;
}

std::optional<Bytes> make_query(std::uint16_t id, std::string_view name, std::uint16_t qtype,
                                std::optional<std::uint16_t> edns_size) {
  detail::Rdf owner(ldns_dname_new_frm_str(std::string(name).c_str()));
  if (!owner) return std::nullopt;
  detail::Pkt p(ldns_pkt_new());
  detail::Rr q(ldns_rr_new());
  if (!p || !q) return std::nullopt;
  ldns_rr_set_owner(q.get(), owner.release());
  ldns_rr_set_type(q.get(), static_cast<ldns_rr_type>(qtype));
  ldns_rr_set_class(q.get(), LDNS_RR_CLASS_IN);
  ldns_rr_set_question(q.get(), true);
  if (!ldns_pkt_push_rr(p.get(), LDNS_SECTION_QUESTION, q.get())) return std::nullopt;
  q.release();
  ldns_pkt_set_id(p.get(), id);
  ldns_pkt_set_rd(p.get(), true);
  if (edns_size) ldns_pkt_set_edns_udp_size(p.get(), *edns_size);
  return detail::to_wire(p.get());
}

Bytes with_id(ByteSpan msg, std::uint16_t id) {
  Bytes out(msg.begin(), msg.end());
  if (out.size() >= 2) {
    out[0] = static_cast<std::uint8_t>(id >> 8);
    out[1] = static_cast<std::uint8_t>(id);
  }
  return out;
}

}  // namespace weft::dns
