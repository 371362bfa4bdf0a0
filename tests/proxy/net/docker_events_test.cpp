#include "weft/proxy_net/docker_events.hpp"

#include <gtest/gtest.h>

namespace weft::proxy_net {
namespace {

TEST(DockerEvents, ParsesOldAndNewFormats) {
  auto e = parse_event(R"({"status":"start","id":"abc","from":"busybox","Type":"container","Action":"start","Actor":{"ID":"abc"}})");
  ASSERT_TRUE(e.has_value());
  EXPECT_EQ(e->action, "start");
  EXPECT_EQ(e->id, "abc");
  e = parse_event(R"({"Type":"container","Action":"exec_start: sh -c x","Actor":{"ID":"def"}})");
  ASSERT_TRUE(e.has_value());
  EXPECT_EQ(e->action, "exec_start");
  EXPECT_EQ(e->id, "def");
  e = parse_event(R"({"status":"die","id":"old"})");
  ASSERT_TRUE(e.has_value());
  EXPECT_EQ(e->action, "die");
}

TEST(DockerEvents, IgnoresOtherTypesAndJunk) {
  EXPECT_FALSE(parse_event(R"({"Type":"network","Action":"connect","Actor":{"ID":"n"}})").has_value());
  for (const char* bad : {"", "{", "[]", "null", R"({"Action":1})", R"({"Type":"container"})", "\x01\x02"}) {
    EXPECT_FALSE(parse_event(bad).has_value()) << bad;
  }
}

}  // namespace
}  // namespace weft::proxy_net
