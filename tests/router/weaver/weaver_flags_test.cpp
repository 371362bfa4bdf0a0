#include <gtest/gtest.h>

#include <algorithm>

#include "flags.hpp"

namespace weft::weaver {
namespace {

TEST(WeaverFlags, GoStyleForms) {
  auto o = parse_flags({"--port", "7000", "-name=aa:bb:cc:dd:ee:ff", "--no-discovery", "10.0.0.1", "--conn-limit=5",
                        "10.0.0.2:6783"});
  ASSERT_TRUE(o.ok()) << o.error().message;
  EXPECT_EQ(o->get("port"), "7000");
  EXPECT_EQ(o->get("name"), "aa:bb:cc:dd:ee:ff");
  EXPECT_TRUE(o->flag("no-discovery"));
  EXPECT_EQ(o->get("conn-limit"), "5");
  EXPECT_EQ(o->peers, (std::vector<std::string>{"10.0.0.1", "10.0.0.2:6783"}));
  EXPECT_EQ(o->get("db-prefix"), "/weavedb/weave");  // default
  EXPECT_TRUE(o->unsupported.empty());
}

TEST(WeaverFlags, BoolFalseAndLastValueWins) {
  auto o = parse_flags({"--proxy", "--proxy=false", "--port=1", "--port=2"});
  ASSERT_TRUE(o.ok());
  EXPECT_FALSE(o->flag("proxy"));
  EXPECT_EQ(o->get("port"), "2");
}

TEST(WeaverFlags, ClearErrors) {
  EXPECT_EQ(parse_flags({"--bogus"}).error().message, "flag provided but not defined: -bogus");
  EXPECT_EQ(parse_flags({"--port"}).error().message, "flag needs an argument: -port");
  EXPECT_EQ(parse_flags({"--port", "abc"}).error().message, "invalid value \"abc\" for flag -port: parse error");
  EXPECT_EQ(parse_flags({"--no-dns=maybe"}).error().message, "invalid boolean value \"maybe\" for -no-dns");
}

TEST(WeaverFlags, NotYetBuiltCapabilitiesAreAcceptedAndNamed) {
  auto o = parse_flags({"--ipalloc-range", "10.32.0.0/12", "--no-fastdp", "--no-bridged-fastdp", "--awsvpc", "-H",
                        "unix:///a", "-H", "tcp://b", "--plugin"});
  ASSERT_TRUE(o.ok());
  EXPECT_EQ(o->lists.at("H").size(), 2u);
  auto has = [&](const std::string& f) {
    return std::find(o->unsupported.begin(), o->unsupported.end(), f) != o->unsupported.end();
  };
  EXPECT_TRUE(has("--no-bridged-fastdp"));
  EXPECT_FALSE(has("--no-fastdp"));  // the kernel fast path is built
  EXPECT_TRUE(has("--awsvpc (obsolete)"));
  EXPECT_FALSE(has("--H"));       // the proxy is built
  EXPECT_FALSE(has("--plugin"));  // so is the plugin
  EXPECT_FALSE(has("--ipalloc-range"));  // built: not reported
  EXPECT_NE(usage().find("--ipalloc-range"), std::string::npos);
}

}  // namespace
}  // namespace weft::weaver
