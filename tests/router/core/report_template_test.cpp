// The /report?format= renderer (issue 18, item 1): the same answers as before for the templates
// `weave report -f` uses, and a clear error, never a crash, for hostile ones.
#include "weft/router/report_template.hpp"

#include <gtest/gtest.h>

#include "weft/router/render_throttle.hpp"

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

// Issue 18: the report costs O(peers), so a hostile template is refused before it is built:
// check_report_template() needs no data and agrees with the renderer on every syntax error.
TEST(ReportTemplate, CheckRefusesWhatTheRendererRefusesWithoutData) {
  auto j = report();
  for (const std::string& t :
       std::vector<std::string>{"{{.Router.Name", "{{range .Router.Peers}}", "{{json.Router}}", "{{.Router-Name}}",
                                "{{." + std::string(60000, 'A') + "}}", std::string(9000, 'x')}) {
    EXPECT_FALSE(check_report_template(t).ok()) << t.substr(0, 40);
    EXPECT_FALSE(render_report_template(t, j).ok()) << t.substr(0, 40);
  }
  std::string many;
  for (int i = 0; i < 300; ++i) many += "{{.Router.Enc}}";
  EXPECT_FALSE(check_report_template(many).ok());
  for (const std::string& t : std::vector<std::string>{"{{.Router.Name}}", "a {{ .IPAM.Range }} b",
                                                       "{{json .Router.Name}}", "{{.}}", "plain"}) {
    EXPECT_TRUE(check_report_template(t).ok()) << t;
  }
  // Syntax only: a missing field is found when rendering.
  EXPECT_TRUE(check_report_template("{{.Router.Missing}}").ok());
}

// RenderThrottle: a rendering that cost C is reused for 9 C, so renderings take at most a tenth
// of the time however often they are asked for; a cheap one is never reused noticeably.
TEST(RenderThrottle, ReusesAnExpensiveRenderingForNineTimesItsCost) {
  TimePoint t{std::chrono::hours(1)};
  RenderThrottle<int> th;
  int made = 0;
  auto render_costing = [&](Duration cost) {
    return [&, cost] {
      t += cost;
      return ++made;
    };
  };
  auto now = [&] { return t; };
  EXPECT_EQ(th.get(now, render_costing(std::chrono::milliseconds(300))), 1);
  // 1,000 requests, one every 10 ms for 10 s: the loop spends at most ~10% rendering.
  Duration busy = std::chrono::milliseconds(300);
  for (int i = 0; i < 1000; ++i) {
    t += std::chrono::milliseconds(10);
    auto before = t;
    th.get(now, render_costing(std::chrono::milliseconds(300)));
    busy += t - before;
  }
  EXPECT_LT(th.renders(), 6u);
  EXPECT_GT(th.reused(), 990u);
  EXPECT_LT(busy, std::chrono::milliseconds(1800));  // <= 1/10 of 13 s of loop time, plus one
  // A cheap rendering (a small mesh) is fresh for the next request.
  RenderThrottle<int> cheap;
  made = 0;
  EXPECT_EQ(cheap.get(now, render_costing(std::chrono::microseconds(50))), 1);
  t += std::chrono::milliseconds(1);
  EXPECT_EQ(cheap.get(now, render_costing(std::chrono::microseconds(50))), 2);
  // invalidate() forces the next one.
  EXPECT_EQ(cheap.get(now, render_costing(std::chrono::microseconds(50))), 2);
  cheap.invalidate();
  EXPECT_EQ(cheap.get(now, render_costing(std::chrono::microseconds(50))), 3);
}

}  // namespace
}  // namespace weft::router
