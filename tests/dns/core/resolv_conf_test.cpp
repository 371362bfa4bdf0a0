#include "weft/dns/resolv_conf.hpp"

#include <gtest/gtest.h>

#include "weft/dns/names.hpp"

namespace weft::dns {
namespace {

TEST(ResolvConf, ReadsNameserverLinesInOrder) {
  auto s = parse_resolv_conf(
      "# generated\n"
      "search example.com\n"
      "nameserver 10.0.0.2\n"
      "; nameserver 10.9.9.9\n"
      "#nameserver 10.9.9.8\n"
      "  nameserver\t10.0.0.3   # trailing\r\n"
      "nameserver\n"
      "nameserver ::1\n"
      "options ndots:2\n"
      "nameserver 10.0.0.4");
  EXPECT_EQ(s, (std::vector<std::string>{"10.0.0.2", "10.0.0.3", "::1", "10.0.0.4"}));
  EXPECT_TRUE(parse_resolv_conf("").empty());
}

TEST(ResolvConf, FiltersOurOwnAddress) {
  std::vector<std::string> s = {"172.17.0.1", "8.8.8.8", "127.0.0.1", "172.17.0.1"};
  EXPECT_EQ(filter_upstreams(s, "172.17.0.1"), (std::vector<std::string>{"8.8.8.8", "127.0.0.1"}));
  EXPECT_EQ(filter_upstreams(s, ""), s);
  EXPECT_EQ(filter_upstreams(s, "", true, true), (std::vector<std::string>{"172.17.0.1", "8.8.8.8", "172.17.0.1"}));
  EXPECT_EQ(filter_upstreams(s, "", true, false), s);
}

TEST(DnsNames, FqdnSubdomainTrim) {
  EXPECT_EQ(fqdn("a"), "a.");
  EXPECT_EQ(fqdn("a."), "a.");
  EXPECT_EQ(fqdn(""), ".");
  EXPECT_EQ(fqdn("a\\."), "a\\..");
  EXPECT_EQ(fqdn("a\\\\."), "a\\\\.");
  EXPECT_TRUE(is_subdomain("x.Weave.Local.", "weave.local."));
  EXPECT_TRUE(is_subdomain("weave.local.", "weave.local."));
  EXPECT_FALSE(is_subdomain("xweave.local.", "weave.local."));
  EXPECT_FALSE(is_subdomain("local.", "weave.local."));
  EXPECT_TRUE(is_subdomain("anything.", "."));
  EXPECT_EQ(trim_domain("db.weave.local.", "weave.local."), "db");
  EXPECT_EQ(trim_domain("db.WEAVE.local.", "weave.local."), "db.WEAVE.local.");
  EXPECT_EQ(count_dots("a.b."), 2u);
  EXPECT_EQ(to_lower("AbC.-"), "abc.-");
}

}  // namespace
}  // namespace weft::dns
