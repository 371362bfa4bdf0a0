// The /report?format= renderer (issue 18, item 1): the same answers as before for the templates
// `weave report -f` uses, and a clear error, never a crash, for hostile ones.
#include "weft/router/report_template.hpp"

#include <gtest/gtest.h>

namespace weft::router {
namespace {

nlohmann::ordered_json report() {
  return nlohmann::ordered_json::parse(
      R"({"Router": {"Name": "aa:bb:cc:dd:ee:ff", "Peers": [1, 2], "Enc": false, "Nil": null}, "IPAM": {"Range": "10.32.0.0/12"}})");
}

TEST(ReportTemplate, RendersFieldsAndJson) {
  auto j = report();
  EXPECT_EQ(render_report_template("{{.Router.Name}}", j).value(), "aa:bb:cc:dd:ee:ff");
  EXPECT_EQ(render_report_template("a {{ .IPAM.Range }} b", j).value(), "a 10.32.0.0/12 b");
  EXPECT_EQ(render_report_template("{{json .Router.Name}}", j).value(), "\"aa:bb:cc:dd:ee:ff\"");
  EXPECT_EQ(render_report_template("{{.Router.Peers}}", j).value(), "[1,2]");
  EXPECT_EQ(render_report_template("{{.Router.Nil}}", j).value(), "<nil>");
  EXPECT_EQ(render_report_template("{{.Router.Enc}}", j).value(), "false");
  EXPECT_EQ(render_report_template("{{.}}", j).value(), j.dump());
  EXPECT_EQ(render_report_template("plain", j).value(), "plain");
}

TEST(ReportTemplate, RefusesBadActions) {
  auto j = report();
  EXPECT_FALSE(render_report_template("{{.Router.Name", j).ok());
  EXPECT_FALSE(render_report_template("{{range .Router.Peers}}", j).ok());
  EXPECT_FALSE(render_report_template("{{json.Router}}", j).ok());
  EXPECT_FALSE(render_report_template("{{.Router.Missing}}", j).ok());
  EXPECT_FALSE(render_report_template("{{.Router.Name.X}}", j).ok());
  EXPECT_FALSE(render_report_template("{{.Router-Name}}", j).ok());
  auto e = render_report_template("{{.\x1b[31m}}", j);
  ASSERT_FALSE(e.ok());
  EXPECT_EQ(e.error().message.find('\x1b'), std::string::npos) << "error messages escape control bytes";
}

// The attack of item 1: `{{.` + 60,000 characters + `}}` overflowed the stack in std::regex.
TEST(ReportTemplate, HugeActionIsRefusedNotACrash) {
  auto j = report();
  for (char c : {'A', '.', ' '}) {
    std::string t = "{{." + std::string(60000, c) + "}}";
    auto r = render_report_template(t, j);
    EXPECT_FALSE(r.ok());
  }
  // Under the length limit, the parser is linear and has no recursion: a long valid path of
  // empty components still renders.
  std::string dots = "{{.Router" + std::string(7000, '.') + "Name}}";
  EXPECT_EQ(render_report_template(dots, j).value(), "aa:bb:cc:dd:ee:ff");
  // With a larger limit, the same 60k action is parsed in one pass without a crash.
  TemplateLimits big;
  big.max_template = 1 << 20;
  std::string t = "{{.Router" + std::string(60000, '.') + "Name}}";
  EXPECT_EQ(render_report_template(t, j, big).value(), "aa:bb:cc:dd:ee:ff");
}

TEST(ReportTemplate, BoundsDepthActionsAndOutput) {
  auto j = report();
  std::string deep = "{{";
  for (int i = 0; i < 40; ++i) deep += ".A";
  deep += "}}";
  EXPECT_FALSE(render_report_template(deep, j).ok());
  std::string many;
  for (int i = 0; i < 300; ++i) many += "{{.Router.Enc}}";
  EXPECT_FALSE(render_report_template(many, j).ok());
  TemplateLimits small;
  small.max_output = 100;
  std::string big;
  for (int i = 0; i < 20; ++i) big += "{{.}}";
  EXPECT_FALSE(render_report_template(big, j, small).ok());
}

}  // namespace
}  // namespace weft::router
