#include "weft/router/report_template.hpp"

#include <vector>

namespace weft::router {
namespace {

bool is_space(char c) { return c == ' ' || c == '\t' || c == '\n' || c == '\r'; }
bool is_ident(char c) {
  return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '_';
}

/// Quotes at most 40 bytes of an action for an error message, escaping anything unprintable.
std::string quote_action(std::string_view a) {
  std::string out;
  for (std::size_t i = 0; i < a.size() && i < 40; ++i) {
    auto c = static_cast<unsigned char>(a[i]);
    if (c >= 0x20 && c < 0x7f) {
      out += static_cast<char>(c);
    } else {
      out += fmt::format("\\x{:02x}", c);
    }
  }
  if (a.size() > 40) out += "...";
  return out;
}

struct Action {
  bool json = false;
  std::vector<std::string_view> path;
};

/// Parses the inside of one `{{ }}`: optional spaces, optional `json` plus spaces, `.` and a
/// dotted path of identifiers, optional spaces. One pass, no recursion.
Result<Action> parse_action(std::string_view s, const TemplateLimits& limits) {
  Action a;
  std::size_t i = 0;
  auto skip_space = [&] {
    while (i < s.size() && is_space(s[i])) ++i;
  };
  auto unsupported = [&] {
    return make_error("template: report:1: unsupported action {{{{{}}}}} (weft supports .Field paths and json)",
                      quote_action(s));
  };
  skip_space();
  if (s.substr(i).starts_with("json") && i + 4 < s.size() && is_space(s[i + 4])) {
    a.json = true;
    i += 4;
    skip_space();
  }
  if (i >= s.size() || s[i] != '.') return unsupported();
  ++i;
  while (i < s.size() && !is_space(s[i])) {
    std::size_t start = i;
    while (i < s.size() && is_ident(s[i])) ++i;
    if (i > start) {
      if (a.path.size() >= limits.max_path_depth) {
        return make_error("template: report:1: field path deeper than {} components", limits.max_path_depth);
      }
      a.path.push_back(s.substr(start, i - start));
    }
    if (i < s.size() && s[i] == '.') {
      ++i;
    } else if (i < s.size() && !is_space(s[i])) {
      return unsupported();
    }
  }
  skip_space();
  if (i != s.size()) return unsupported();
  return a;
}

}  // namespace

Result<void> check_report_template(std::string_view tmpl, const TemplateLimits& limits) {
  if (tmpl.size() > limits.max_template) {
    return make_error("template: report: template of {} bytes is longer than the limit of {}", tmpl.size(),
                      limits.max_template);
  }
  std::size_t pos = 0;
  std::size_t actions = 0;
  while (pos < tmpl.size()) {
    auto open = tmpl.find("{{", pos);
    if (open == std::string_view::npos) break;
    auto close = tmpl.find("}}", open + 2);
    if (close == std::string_view::npos) return make_error("template: report:1: unclosed action");
    if (++actions > limits.max_actions) {
      return make_error("template: report: more than {} actions", limits.max_actions);
    }
    WEFT_TRY_VOID(parse_action(tmpl.substr(open + 2, close - open - 2), limits));
    pos = close + 2;
  }
  return ok_result();
}

Result<std::string> render_report_template(std::string_view tmpl, const nlohmann::ordered_json& root,
                                           const TemplateLimits& limits) {
  if (tmpl.size() > limits.max_template) {
    return make_error("template: report: template of {} bytes is longer than the limit of {}", tmpl.size(),
                      limits.max_template);
  }
  std::string out;
  std::size_t pos = 0;
  std::size_t actions = 0;
  while (pos < tmpl.size()) {
    auto open = tmpl.find("{{", pos);
    if (open == std::string_view::npos) {
      out += tmpl.substr(pos);
      break;
    }
    out += tmpl.substr(pos, open - pos);
    auto close = tmpl.find("}}", open + 2);
    if (close == std::string_view::npos) return make_error("template: report:1: unclosed action");
    if (++actions > limits.max_actions) {
      return make_error("template: report: more than {} actions", limits.max_actions);
    }
    WEFT_TRY(action, parse_action(tmpl.substr(open + 2, close - open - 2), limits));
    const nlohmann::ordered_json* v = &root;
    for (auto key : action.path) {
      if (!v->is_object()) return make_error("template: report:1: can't evaluate field {}", quote_action(key));
      auto it = v->find(std::string(key));
      if (it == v->end()) return make_error("template: report:1: can't evaluate field {}", quote_action(key));
      v = &*it;
    }
    if (action.json) {
      out += v->dump();
    } else if (v->is_string()) {
      out += v->get<std::string>();
    } else if (v->is_null()) {
      out += "<nil>";
    } else {
      out += v->dump();
    }
    if (out.size() > limits.max_output) {
      return make_error("template: report: output longer than {} bytes", limits.max_output);
    }
    pos = close + 2;
  }
  return out;
}

}  // namespace weft::router
