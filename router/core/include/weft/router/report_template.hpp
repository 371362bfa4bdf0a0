#pragma once
// `GET /report?format=...` and `weave report -f`: a small subset of Go's text/template over the
// report JSON. Supported actions: `{{.A.B}}`, `{{ .A }}`, `{{json .A}}`. The template comes from
// outside (any HTTP client), so it is parsed by hand in one linear pass, never by a regex, with a
// bounded length, a bounded number of actions and a bounded path depth.
#include <cstddef>
#include <string>
#include <string_view>

#include <nlohmann/json.hpp>

#include "weft/base/result.hpp"

namespace weft::router {

struct TemplateLimits {
  std::size_t max_template = 8192;   ///< bytes of template text
  std::size_t max_actions = 256;     ///< {{...}} actions per template
  std::size_t max_path_depth = 32;   ///< .A.B.C components per action
  std::size_t max_output = 4 << 20;  ///< bytes of rendered output
};

/// Checks a template's syntax and limits without any data: a malformed template is refused before
/// weaver builds the report it would render (a report costs O(peers); issue 18).
Result<void> check_report_template(std::string_view tmpl, const TemplateLimits& limits = {});

Result<std::string> render_report_template(std::string_view tmpl, const nlohmann::ordered_json& root,
                                           const TemplateLimits& limits = {});

}  // namespace weft::router
