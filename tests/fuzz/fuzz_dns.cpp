// Fuzzes weaveDNS's untrusted inputs: DNS queries through the responder (UDP and TCP sizes),
// upstream replies through the forwarder's checks, and nameserver gossip through the GossipData
// decoder and the whole receive path (merge, overrides, relay encoding). Any crash, sanitizer
// report or leak fails the run; so does a UDP answer larger than the client may receive or a
// relayed gossip message that does not decode again.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <optional>

#include "weft/base/random.hpp"
#include "weft/dns/gossip_data.hpp"
#include "weft/dns/message.hpp"
#include "weft/dns/nameserver.hpp"
#include "weft/dns/responder.hpp"

namespace {

using namespace weft;

class NullSender final : public mesh::GossipSender {
 public:
  void unicast(PeerName, Bytes) override {}
  void broadcast(Bytes b) override { check(b); }
  void gossip(Bytes b) override { check(b); }
  static void check(const Bytes& b) {
    if (!dns::decode_gossip_data(b).ok()) std::abort();
  }
};

dns::Nameserver& nameserver() {
  static dns::Nameserver* ns = [] {
    dns::NameserverConfig c;
    c.self = PeerName(0xaabbccddee01);
    c.is_known_peer = [](PeerName p) { return p.value() % 3 != 0; };
    c.wall_clock = [](TimePoint) { return std::int64_t{1'700'000'000}; };
    auto* n = new dns::Nameserver(std::move(c));
    auto t = TimePoint{};
    n->add_entry(t, "web.weave.local.", "c1", n->self(), Ipv4(0x0a200001), nullptr);
    for (std::uint32_t i = 0; i < 40; ++i) {
      n->add_entry(t, "many.weave.local.", "m" + std::to_string(i), n->self(), Ipv4(0x0a210000 + i), nullptr);
    }
    return n;
  }();
  return *ns;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  ByteSpan in(data, size);
  auto& ns = nameserver();
  SeededRandom rng(size);

  // 1. As a query.
  dns::Responder responder(dns::ResponderConfig{}, ns);
  for (auto t : {dns::Transport::udp, dns::Transport::tcp}) {
    auto r = responder.respond(in, t, rng);
    if (auto* a = std::get_if<dns::Answer>(&r)) {
      if (a->message.size() < dns::kHeaderSize) std::abort();
      if (t == dns::Transport::udp) {
        auto q = dns::parse_message(in);
        std::size_t limit = q.ok() && q->edns ? std::max<std::size_t>(512, q->edns_size) : 512;
        if (a->message.size() > limit) std::abort();
      }
      (void)dns::parse_message(a->message);
    } else if (auto* f = std::get_if<dns::Forward>(&r)) {
      (void)dns::error_reply(in, dns::Rcode::servfail);
      // 2. As an upstream's reply to that very query (and to a fixed one).
      if (size >= 2) (void)dns::accept_upstream_reply(in, dns::header_id(in), f->query);
    }
  }
  dns::QueryInfo q;
  q.qname = "example.com.";
  q.qtype = dns::rrtype::A;
  q.qclass = dns::kClassIN;
  if (size >= 2) {
    auto ok = dns::accept_upstream_reply(in, dns::header_id(in), q);
    if (ok.ok() && ok->size() > q.max_size) std::abort();
  }

  // 3. As nameserver gossip, decoded and then received for real with the clock at its Timestamp.
  auto g = dns::decode_gossip_data(in);
  if (g.ok()) {
    auto again = dns::decode_gossip_data(dns::encode_gossip_data(*g));
    if (!again.ok() || !(*again == *g)) std::abort();
    const std::int64_t wall = g->timestamp;
    dns::NameserverConfig c;
    c.self = PeerName(0xaabbccddee01);
    c.is_known_peer = [](PeerName p) { return p.value() % 3 != 0; };
    c.wall_clock = [wall](TimePoint) { return wall; };
    dns::Nameserver fresh(std::move(c));
    fresh.add_entry(TimePoint{}, "web.weave.local.", "containerA", fresh.self(), Ipv4(0x0a200001), nullptr);
    NullSender out;
    for (int round = 0; round < 2; ++round) {
      auto r = round == 0 ? fresh.on_broadcast(TimePoint{}, PeerName(2), in, out)
                          : fresh.on_gossip(TimePoint{}, PeerName(2), in, out);
      if (!r.ok()) std::abort();
      if (round == 0 && !r->has_value()) std::abort();
      if (r->has_value()) NullSender::check(**r);
      if (!fresh.check_invariants().ok()) std::abort();
    }
    for (auto& b : fresh.full_state(TimePoint{})) NullSender::check(b);
    (void)fresh.format_status_dns();
    (void)fresh.entries_json();
  }
  return 0;
}
