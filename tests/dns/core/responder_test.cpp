#include "weft/dns/responder.hpp"

#include <gtest/gtest.h>

#include <algorithm>
#include <set>

#include "dns_test_util.hpp"
#include "weft/base/random.hpp"

namespace weft::dns {
namespace {

using test::at;
using test::hand_query;
using test::hand_reply;

const PeerName kUs(0xaabbccddee01);

class ResponderTest : public ::testing::Test {
 protected:
  ResponderTest() : ns_(config()), responder_(ResponderConfig{"weave.local", 1}, ns_) {
    ns_.add_entry(at(0), "web.weave.local.", "c1", kUs, Ipv4(0x0a200001), nullptr);
    ns_.add_entry(at(0), "db.weave.local.", "c2", kUs, Ipv4(0x0a200002), nullptr);
    ns_.add_entry(at(0), "db.weave.local.", "c3", kUs, Ipv4(0x0a200003), nullptr);
    ns_.add_entry(at(0), "db.weave.local.", "c4", kUs, Ipv4(0x0a200004), nullptr);
    ns_.add_entry(at(0), "dead.weave.local.", "c5", kUs, Ipv4(0x0a200005), nullptr);
    ns_.container_died(at(1), "c5", nullptr);
  }
  static NameserverConfig config() {
    NameserverConfig c;
    c.self = kUs;
    c.is_known_peer = [](PeerName) { return true; };
    c.wall_clock = test::wall_of;
    return c;
  }

  /// Expects an Answer and decodes it.
  Message answer(const Bytes& query, Transport t = Transport::udp) {
    auto r = responder_.respond(query, t, rng_);
    EXPECT_TRUE(std::holds_alternative<Answer>(r));
    if (!std::holds_alternative<Answer>(r)) return {};
    last_ = std::get<Answer>(r).message;
    auto m = parse_message(last_);
    EXPECT_TRUE(m.ok());
    return m.ok() ? *m : Message{};
  }
  Bytes q(std::string_view name, std::uint16_t type, std::optional<std::uint16_t> edns = std::nullopt,
          std::uint16_t id = 0x1234) {
    auto b = make_query(id, name, type, edns);
    EXPECT_TRUE(b.has_value());
    return b.value_or(Bytes{});
  }
  void add_many(int n) {
    for (int i = 0; i < n; ++i) {
      ns_.add_entry(at(0), "many.weave.local.", fmt::format("m{}", i), kUs,
                    Ipv4(0x0a210000 + static_cast<std::uint32_t>(i)), nullptr);
    }
  }

  Nameserver ns_;
  Responder responder_;
  SeededRandom rng_{1};
  Bytes last_;
};

TEST_F(ResponderTest, AForANameInTheDomain) {
  auto m = answer(q("web.weave.local.", rrtype::A));
  EXPECT_EQ(m.id, 0x1234);
  EXPECT_TRUE(m.qr);
  EXPECT_TRUE(m.aa);
  EXPECT_TRUE(m.ra);
  EXPECT_TRUE(m.rd);
  EXPECT_FALSE(m.tc);
  EXPECT_EQ(m.rcode, 0);
  ASSERT_EQ(m.questions.size(), 1u);
  ASSERT_EQ(m.answers.size(), 1u);
  EXPECT_EQ(m.answers[0].name, "web.weave.local.");
  EXPECT_EQ(m.answers[0].type, rrtype::A);
  EXPECT_EQ(m.answers[0].rclass, kClassIN);
  EXPECT_EQ(m.answers[0].ttl, 1u);
  EXPECT_EQ(m.answers[0].rdata, "10.32.0.1");
  EXPECT_FALSE(m.edns);
}

TEST_F(ResponderTest, HandBuiltQueryAndTtlFromConfig) {
  Responder r5(ResponderConfig{"weave.local.", 5}, ns_);
  auto res = r5.respond(hand_query(7, "web.weave.local.", rrtype::A), Transport::udp, rng_);
  ASSERT_TRUE(std::holds_alternative<Answer>(res));
  auto m = parse_message(std::get<Answer>(res).message);
  ASSERT_TRUE(m.ok());
  EXPECT_EQ(m->id, 7);
  ASSERT_EQ(m->answers.size(), 1u);
  EXPECT_EQ(m->answers[0].ttl, 5u);
}

TEST_F(ResponderTest, MixedCaseMatchesAndTheAnswerKeepsTheQueryCase) {
  auto m = answer(q("WeB.WEAVE.Local.", rrtype::A));
  ASSERT_EQ(m.answers.size(), 1u);
  EXPECT_EQ(m.answers[0].name, "WeB.WEAVE.Local.");
  EXPECT_EQ(m.questions.at(0).name, "WeB.WEAVE.Local.");
}

TEST_F(ResponderTest, SingleLabelNamesAreCompleted) {
  auto m = answer(q("web.", rrtype::A));
  ASSERT_EQ(m.answers.size(), 1u);
  EXPECT_EQ(m.answers[0].name, "web.");
  EXPECT_EQ(m.answers[0].rdata, "10.32.0.1");
  EXPECT_EQ(answer(q("nosuch.", rrtype::A)).rcode, static_cast<int>(Rcode::nxdomain));
}

TEST_F(ResponderTest, AllLiveAddressesShuffled) {
  std::set<std::vector<std::string>> orders;
  for (int i = 0; i < 40; ++i) {
    auto m = answer(q("db.weave.local.", rrtype::A));
    std::vector<std::string> got;
    for (auto& a : m.answers) got.push_back(a.rdata);
    ASSERT_EQ(got.size(), 3u);
    orders.insert(got);
    std::sort(got.begin(), got.end());
    EXPECT_EQ(got, (std::vector<std::string>{"10.32.0.2", "10.32.0.3", "10.32.0.4"}));
  }
  EXPECT_GT(orders.size(), 3u);  // 6 permutations; 40 draws see several of them
}

TEST_F(ResponderTest, OtherTypesForAnExistingNameAreEmptyNoError) {
  for (auto t : {rrtype::AAAA, rrtype::MX, rrtype::TXT, rrtype::SRV, rrtype::ANY}) {
    auto m = answer(q("db.weave.local.", t));
    EXPECT_EQ(m.rcode, 0) << t;
    EXPECT_TRUE(m.aa);
    EXPECT_TRUE(m.answers.empty());
  }
}

TEST_F(ResponderTest, UnknownOrTombstonedNamesAreNxdomain) {
  for (auto name : {"nosuch.weave.local.", "dead.weave.local.", "weave.local.", "a.b.weave.local."}) {
    auto m = answer(q(name, rrtype::A));
    EXPECT_EQ(m.rcode, static_cast<int>(Rcode::nxdomain)) << name;
    EXPECT_FALSE(m.aa);  // as Weave's nameError
    EXPECT_TRUE(m.ra);
    EXPECT_EQ(m.questions.size(), 1u);
  }
  EXPECT_EQ(answer(q("nosuch.weave.local.", rrtype::AAAA)).rcode, static_cast<int>(Rcode::nxdomain));
}

TEST_F(ResponderTest, NotExactlyOneQuestionIsNxdomain) {
  auto two = answer(hand_query(9, "web.weave.local.", rrtype::A, 2));
  EXPECT_EQ(two.rcode, static_cast<int>(Rcode::nxdomain));
  EXPECT_EQ(two.id, 9);
  EXPECT_TRUE(two.answers.empty());
  auto none = answer(hand_query(10, "web.weave.local.", rrtype::A, 0));
  EXPECT_EQ(none.rcode, static_cast<int>(Rcode::nxdomain));
  EXPECT_TRUE(none.questions.empty());
}

TEST_F(ResponderTest, OtherNamesAreForwarded) {
  for (auto name : {"example.com.", "www.Example.COM.", ".", "weave.local.example."}) {
    auto r = responder_.respond(q(name, rrtype::A, 1232, 77), Transport::udp, rng_);
    ASSERT_TRUE(std::holds_alternative<Forward>(r)) << name;
    auto& info = std::get<Forward>(r).query;
    EXPECT_EQ(info.id, 77);
    EXPECT_EQ(info.qname, name);
    EXPECT_EQ(info.qtype, rrtype::A);
    EXPECT_EQ(info.qclass, kClassIN);
    EXPECT_TRUE(info.edns);
    EXPECT_EQ(info.max_size, 1232u);
  }
  auto tcp = responder_.respond(q("example.com.", rrtype::MX), Transport::tcp, rng_);
  ASSERT_TRUE(std::holds_alternative<Forward>(tcp));
  EXPECT_EQ(std::get<Forward>(tcp).query.max_size, kMaxMessageSize);
  EXPECT_EQ(std::get<Forward>(tcp).query.transport, Transport::tcp);
}

TEST_F(ResponderTest, PtrForAKnownAddress) {
  for (auto name : {"1.0.32.10.in-addr.arpa.", "1.0.32.10.IN-ADDR.ARPA."}) {
    auto m = answer(q(name, rrtype::PTR));
    EXPECT_EQ(m.rcode, 0);
    EXPECT_TRUE(m.aa);
    ASSERT_EQ(m.answers.size(), 1u) << name;
    EXPECT_EQ(m.answers[0].name, name);
    EXPECT_EQ(m.answers[0].type, rrtype::PTR);
    EXPECT_EQ(m.answers[0].ttl, 1u);
    EXPECT_EQ(m.answers[0].rdata, "web.weave.local.");
  }
  // Unknown (or tombstoned) addresses go upstream.
  for (auto name : {"9.9.9.9.in-addr.arpa.", "5.0.32.10.in-addr.arpa."}) {
    EXPECT_TRUE(std::holds_alternative<Forward>(responder_.respond(q(name, rrtype::PTR), Transport::udp, rng_)));
  }
  // Not PTR, or not a whole address: NXDOMAIN.
  EXPECT_EQ(answer(q("1.0.32.10.in-addr.arpa.", rrtype::A)).rcode, static_cast<int>(Rcode::nxdomain));
  EXPECT_EQ(answer(q("32.10.in-addr.arpa.", rrtype::PTR)).rcode, static_cast<int>(Rcode::nxdomain));
  EXPECT_EQ(answer(q("in-addr.arpa.", rrtype::PTR)).rcode, static_cast<int>(Rcode::nxdomain));
  EXPECT_EQ(answer(q("x.0.32.10.in-addr.arpa.", rrtype::PTR)).rcode, static_cast<int>(Rcode::nxdomain));
}

TEST_F(ResponderTest, Edns0IsToleratedAndEchoed) {
  auto m = answer(q("web.weave.local.", rrtype::A, 1232));
  EXPECT_EQ(m.rcode, 0);
  EXPECT_TRUE(m.edns);
  EXPECT_EQ(m.edns_size, kEdnsUdpSize);
  EXPECT_EQ(m.answers.size(), 1u);
  auto bad = answer(hand_query(3, "web.weave.local.", rrtype::A, 1, 4096, 1));
  EXPECT_EQ(bad.rcode, static_cast<int>(Rcode::badvers));
  EXPECT_TRUE(bad.answers.empty());
}

TEST_F(ResponderTest, ManyRecordsAreTruncatedOverUdpOnly) {
  add_many(100);
  auto udp = answer(q("many.weave.local.", rrtype::A));
  EXPECT_TRUE(udp.tc);
  EXPECT_LE(last_.size(), kMinUdpSize);
  // header 12 + question 22 + 16 per compressed A record: (512 - 34) / 16 = 29.
  EXPECT_EQ(udp.answers.size(), 29u);
  EXPECT_GT(last_.size() + 16, kMinUdpSize);  // as many as fit
  auto tcp = answer(q("many.weave.local.", rrtype::A), Transport::tcp);
  EXPECT_FALSE(tcp.tc);
  EXPECT_EQ(tcp.answers.size(), 100u);
  // EDNS0 raises the limit: 4096 holds all 100; 600 holds (600 - 34 - 11) / 16 = 34.
  auto big = answer(q("many.weave.local.", rrtype::A, 4096));
  EXPECT_FALSE(big.tc);
  EXPECT_EQ(big.answers.size(), 100u);
  auto mid = answer(q("many.weave.local.", rrtype::A, 600));
  EXPECT_TRUE(mid.tc);
  EXPECT_EQ(mid.answers.size(), 34u);
  EXPECT_LE(last_.size(), 600u);
  // An EDNS0 size below 512 counts as 512.
  auto tiny = answer(q("many.weave.local.", rrtype::A, 100));
  EXPECT_TRUE(tiny.tc);
  EXPECT_EQ(tiny.answers.size(), 29u);  // (512 - 34 - 11 for the OPT) / 16
}

TEST_F(ResponderTest, MalformedQueriesAreDroppedOrFormerr) {
  // Too short to have a header, or a response: dropped.
  for (auto b : {Bytes{}, Bytes{1, 2, 3}, Bytes(11, 0)}) {
    EXPECT_TRUE(std::holds_alternative<Drop>(responder_.respond(b, Transport::udp, rng_)));
  }
  auto resp = hand_query(5, "web.weave.local.", rrtype::A);
  resp[2] |= 0x80;
  EXPECT_TRUE(std::holds_alternative<Drop>(responder_.respond(resp, Transport::udp, rng_)));
  // Truncated question, label overrunning the message, compression loop: FORMERR with our ID.
  auto full = hand_query(0xBEEF, "web.weave.local.", rrtype::A);
  std::vector<Bytes> bad = {Bytes(full.begin(), full.end() - 3), Bytes(full.begin(), full.begin() + 14)};
  Bytes loop = {0xBE, 0xEF, 1, 0, 0, 1, 0, 0, 0, 0, 0, 0, 0xC0, 12, 0, 1, 0, 1};
  bad.push_back(loop);
  Bytes overrun = full;
  overrun[12] = 60;
  bad.push_back(overrun);
  for (auto& b : bad) {
    auto r = responder_.respond(b, Transport::udp, rng_);
    ASSERT_TRUE(std::holds_alternative<Answer>(r));
    auto& m = std::get<Answer>(r).message;
    ASSERT_EQ(m.size(), kHeaderSize);
    EXPECT_EQ(header_id(m), 0xBEEF);
    EXPECT_TRUE(header_qr(m));
    EXPECT_EQ(header_rcode(m), static_cast<int>(Rcode::formerr));
  }
  // Opcode STATUS (2): NOTIMP.
  auto status = full;
  status[2] = static_cast<std::uint8_t>(2 << 3);
  auto r = responder_.respond(status, Transport::udp, rng_);
  ASSERT_TRUE(std::holds_alternative<Answer>(r));
  EXPECT_EQ(header_rcode(std::get<Answer>(r).message), static_cast<int>(Rcode::notimp));
}

TEST_F(ResponderTest, RandomAndMutatedInputNeverCrashesAndRespectsUdpSize) {
  add_many(60);
  SeededRandom rng(99);
  std::vector<Bytes> seeds = {q("many.weave.local.", rrtype::A), q("1.0.32.10.in-addr.arpa.", rrtype::PTR),
                              q("web.", rrtype::A, 1232), hand_query(1, "db.weave.local.", rrtype::A, 2)};
  for (int i = 0; i < 30000; ++i) {
    Bytes m;
    if (i % 5 == 0) {
      m.resize(rng.uniform(64));
      for (auto& b : m) b = static_cast<std::uint8_t>(rng.next_u64());
    } else {
      m = seeds[rng.uniform(seeds.size())];
      for (int k = 0, n = 1 + static_cast<int>(rng.uniform(3)); k < n; ++k) {
        m[rng.uniform(m.size())] = static_cast<std::uint8_t>(rng.next_u64());
      }
    }
    auto r = responder_.respond(m, Transport::udp, rng);
    if (auto* a = std::get_if<Answer>(&r)) {
      EXPECT_GE(a->message.size(), kHeaderSize);
      auto p = parse_message(m);
      std::size_t limit = p.ok() && p->edns ? std::max<std::size_t>(512, p->edns_size) : 512;
      EXPECT_LE(a->message.size(), limit);
    }
  }
}

TEST(ResponderHelpers, ErrorReplyKeepsTheQuestion) {
  auto query = *make_query(0x4242, "example.com.", rrtype::MX, 1232);
  auto m = parse_message(error_reply(query, Rcode::servfail));
  ASSERT_TRUE(m.ok());
  EXPECT_EQ(m->id, 0x4242);
  EXPECT_EQ(m->rcode, static_cast<int>(Rcode::servfail));
  EXPECT_TRUE(m->qr);
  EXPECT_TRUE(m->ra);
  ASSERT_EQ(m->questions.size(), 1u);
  EXPECT_EQ(m->questions[0].name, "example.com.");
  EXPECT_EQ(m->questions[0].type, rrtype::MX);
  Bytes junk = {0, 7, 1, 0, 0, 1, 0, 0, 0, 0, 0, 0, 63};
  auto h = error_reply(junk, Rcode::servfail);
  ASSERT_EQ(h.size(), kHeaderSize);
  EXPECT_EQ(header_id(h), 7);
}

TEST(ResponderHelpers, AcceptUpstreamReplyChecksAndFits) {
  QueryInfo info;
  info.id = 0x1111;
  info.qname = "Example.COM.";
  info.qtype = rrtype::A;
  info.qclass = kClassIN;
  info.max_size = 512;
  auto sent = test::hand_query(0x2222, "example.com.", rrtype::A);
  auto reply = hand_reply(sent, {0x01020304, 0x05060708});
  auto ok = accept_upstream_reply(reply, 0x2222, info);
  ASSERT_TRUE(ok.ok()) << ok.error().message;
  EXPECT_EQ(header_id(*ok), 0x1111);
  EXPECT_EQ(Bytes(ok->begin() + 2, ok->end()), Bytes(reply.begin() + 2, reply.end()));
  EXPECT_FALSE(accept_upstream_reply(reply, 0x2223, info).ok());  // wrong ID
  EXPECT_FALSE(accept_upstream_reply(sent, 0x2222, info).ok());   // not a reply
  auto other = hand_reply(test::hand_query(0x2222, "example.org.", rrtype::A), {1});
  EXPECT_FALSE(accept_upstream_reply(other, 0x2222, info).ok());  // another question
  auto wrong_type = hand_reply(test::hand_query(0x2222, "example.com.", rrtype::AAAA), {1});
  EXPECT_FALSE(accept_upstream_reply(wrong_type, 0x2222, info).ok());
  EXPECT_FALSE(accept_upstream_reply(Bytes(reply.begin(), reply.end() - 2), 0x2222, info).ok());
  // Too big for the client: cut to the question, TC set.
  std::vector<std::uint32_t> many(40, 0x0a000001);
  auto big = hand_reply(sent, many);
  ASSERT_GT(big.size(), 512u);
  auto cut = accept_upstream_reply(big, 0x2222, info);
  ASSERT_TRUE(cut.ok());
  auto m = parse_message(*cut);
  ASSERT_TRUE(m.ok());
  EXPECT_TRUE(m->tc);
  EXPECT_EQ(m->id, 0x1111);
  EXPECT_TRUE(m->answers.empty());
  EXPECT_EQ(m->questions.size(), 1u);
  info.max_size = kMaxMessageSize;
  auto whole = accept_upstream_reply(big, 0x2222, info);
  ASSERT_TRUE(whole.ok());
  EXPECT_EQ(whole->size(), big.size());
}

}  // namespace
}  // namespace weft::dns
