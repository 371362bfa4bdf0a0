// Fuzzes the `/report?format=` template renderer (issue 18, item 1: a regex over a 60 kB template
// overflowed the stack). Any crash or sanitizer report fails; so does output from a template over
// the length limit, or an unbounded output, or a template the data-free check refuses that renders.
#include <cstddef>
#include <cstdint>
#include <string_view>

#include "fuzz_check.hpp"
#include "weft/router/report_template.hpp"

namespace {

const nlohmann::ordered_json& report() {
  static const auto* j = new nlohmann::ordered_json(nlohmann::ordered_json::parse(R"({
    "Version": "2.8.1", "Router": {"Name": "aa:bb:cc:dd:ee:ff", "Peers": [{"Name": "x", "UID": 1}],
    "Encryption": false, "Nested": {"A": {"B": {"C": null}}}}, "IPAM": {"Range": "10.32.0.0/12"}, "DNS": null})"));
  return *j;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  std::string_view tmpl(reinterpret_cast<const char*>(data), size);
  weft::router::TemplateLimits limits;
  auto out = weft::router::render_report_template(tmpl, report(), limits);
  if (size > limits.max_template) FUZZ_CHECK(!out.ok());
  if (out.ok()) FUZZ_CHECK(out->size() <= limits.max_output + report().dump().size());
  // The data-free check weaver runs first must never refuse what renders (issue 18).
  auto checked = weft::router::check_report_template(tmpl, limits);
  if (out.ok()) FUZZ_CHECK(checked.ok());
  return 0;
}
