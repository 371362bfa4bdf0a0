#include "weft/dns/message.hpp"

#include <gtest/gtest.h>

#include "dns_test_util.hpp"

namespace weft::dns {
namespace {

TEST(DnsMessage, MakeQueryMatchesAHandBuiltOne) {
  auto q = make_query(0x1234, "web.weave.local.", rrtype::A);
  ASSERT_TRUE(q.has_value());
  EXPECT_EQ(to_hex(*q), to_hex(test::hand_query(0x1234, "web.weave.local.", rrtype::A)));
  auto e = make_query(0x1234, "web.weave.local.", rrtype::A, 1232);
  EXPECT_EQ(to_hex(*e), to_hex(test::hand_query(0x1234, "web.weave.local.", rrtype::A, 1, 1232)));
  EXPECT_FALSE(make_query(1, std::string(300, 'a') + ".", rrtype::A).has_value());
}

TEST(DnsMessage, ParseReadsHeaderSectionsAndEdns) {
  auto m = parse_message(test::hand_reply(test::hand_query(9, "a.example.", rrtype::A), {0x0a000001}, 3));
  ASSERT_TRUE(m.ok());
  EXPECT_EQ(m->id, 9);
  EXPECT_TRUE(m->qr);
  EXPECT_TRUE(m->ra);
  EXPECT_EQ(m->rcode, 3);
  ASSERT_EQ(m->answers.size(), 1u);
  EXPECT_EQ(m->answers[0].name, "a.example.");
  EXPECT_EQ(m->answers[0].ttl, 60u);
  EXPECT_EQ(m->answers[0].rdata, "10.0.0.1");
  auto e = parse_message(test::hand_query(1, "x.", rrtype::A, 1, 4096));
  ASSERT_TRUE(e.ok());
  EXPECT_TRUE(e->edns);
  EXPECT_EQ(e->edns_size, 4096);
  EXPECT_TRUE(e->additional.empty());
  EXPECT_FALSE(parse_message(Bytes{1, 2, 3}).ok());
}

TEST(DnsMessage, WithIdReplacesOnlyTheId) {
  Bytes m = {1, 2, 3, 4};
  EXPECT_EQ(with_id(m, 0xABCD), (Bytes{0xAB, 0xCD, 3, 4}));
}

}  // namespace
}  // namespace weft::dns
