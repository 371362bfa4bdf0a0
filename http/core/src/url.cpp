#include "weft/http/url.hpp"

#include <fmt/format.h>

#include <cctype>

namespace weft::http {
namespace {

int hex_value(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

Result<std::string> unescape(std::string_view s, bool plus_is_space) {
  std::string out;
  out.reserve(s.size());
  for (std::size_t i = 0; i < s.size(); ++i) {
    char c = s[i];
    if (c == '%') {
      if (i + 2 >= s.size() || hex_value(s[i + 1]) < 0 || hex_value(s[i + 2]) < 0) {
        // NB: Go quotes the text with strconv.Quote; the offending bytes are printable in practice
        // and we only need the shape of the message.
        return make_error("invalid URL escape \"{}\"", s.substr(i, 3));
      }
      out.push_back(static_cast<char>(hex_value(s[i + 1]) * 16 + hex_value(s[i + 2])));
      i += 2;
    } else if (c == '+' && plus_is_space) {
      out.push_back(' ');
    } else {
      out.push_back(c);
    }
  }
  return out;
}

bool is_unreserved(unsigned char c) {
  return std::isalnum(c) != 0 || c == '-' || c == '_' || c == '.' || c == '~';
}

void append_hex(std::string& out, unsigned char c) {
  static constexpr char kHex[] = "0123456789ABCDEF";
  out.push_back('%');
  out.push_back(kHex[c >> 4]);
  out.push_back(kHex[c & 0xf]);
}

void parse_into(std::string_view raw, ParsedValues& out) {
  while (!raw.empty()) {
    std::string_view pair = raw;
    auto sep = raw.find_first_of("&;");
    if (sep == std::string_view::npos) {
      raw = {};
    } else {
      pair = raw.substr(0, sep);
      raw.remove_prefix(sep + 1);
    }
    if (pair.empty()) {
      continue;
    }
    std::string_view key = pair;
    std::string_view value;
    if (auto eq = pair.find('='); eq != std::string_view::npos) {
      key = pair.substr(0, eq);
      value = pair.substr(eq + 1);
    }
    auto k = query_unescape(key);
    if (!k) {
      if (!out.error) out.error = k.error();
      continue;
    }
    auto v = query_unescape(value);
    if (!v) {
      if (!out.error) out.error = v.error();
      continue;
    }
    out.values[std::move(*k)].push_back(std::move(*v));
  }
}

std::string media_type(std::string_view content_type) {
  auto semi = content_type.find(';');
  std::string_view t = content_type.substr(0, semi);
  while (!t.empty() && (t.front() == ' ' || t.front() == '\t')) t.remove_prefix(1);
  while (!t.empty() && (t.back() == ' ' || t.back() == '\t')) t.remove_suffix(1);
  std::string out(t);
  for (auto& c : out) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return out;
}

}  // namespace

Result<std::string> query_unescape(std::string_view s) { return unescape(s, true); }

Result<std::string> path_unescape(std::string_view s) { return unescape(s, false); }

std::string query_escape(std::string_view s) {
  std::string out;
  out.reserve(s.size());
  for (char ch : s) {
    auto c = static_cast<unsigned char>(ch);
    if (is_unreserved(c)) {
      out.push_back(ch);
    } else if (c == ' ') {
      out.push_back('+');
    } else {
      append_hex(out, c);
    }
  }
  return out;
}

std::string path_escape(std::string_view s) {
  std::string out;
  out.reserve(s.size());
  for (char ch : s) {
    auto c = static_cast<unsigned char>(ch);
    // Go's shouldEscape(encodePath) keeps these sub-delims and ':' '@' '/' in paths.
    static constexpr std::string_view kKeep = "/$&+,;=:@";
    if (is_unreserved(c) || kKeep.find(ch) != std::string_view::npos) {
      out.push_back(ch);
    } else {
      append_hex(out, c);
    }
  }
  return out;
}

ParsedValues parse_query(std::string_view raw_query) {
  ParsedValues out;
  parse_into(raw_query, out);
  return out;
}

ParsedValues parse_form(std::string_view method, std::string_view content_type, std::string_view body,
                        std::string_view raw_query) {
  ParsedValues out;
  if ((method == "POST" || method == "PUT" || method == "PATCH") &&
      media_type(content_type) == "application/x-www-form-urlencoded") {
    parse_into(body, out);
  }
  parse_into(raw_query, out);
  return out;
}

std::string clean_path(std::string_view p) {
  if (p.empty()) {
    return "/";
  }
  // NB: built with append, not `"/" + std::string(p)`: GCC 12 -O3 reports a false -Wrestrict
  // in std::operator+(const char*, string&&).
  std::string in;
  in.reserve(p.size() + 1);
  if (p.front() != '/') in.push_back('/');
  in.append(p);
  // path.Clean on a rooted path: split into segments, drop "" and ".", pop on "..".
  std::vector<std::string_view> segs;
  std::string_view rest = in;
  while (!rest.empty()) {
    auto slash = rest.find('/');
    std::string_view seg = rest.substr(0, slash);
    rest = slash == std::string_view::npos ? std::string_view{} : rest.substr(slash + 1);
    if (seg.empty() || seg == ".") {
      continue;
    }
    if (seg == "..") {
      if (!segs.empty()) segs.pop_back();
      continue;
    }
    segs.push_back(seg);
  }
  std::string out;
  for (auto seg : segs) {
    out.push_back('/');
    out.append(seg);
  }
  if (out.empty()) {
    return "/";
  }
  if (in.back() == '/') {
    out.push_back('/');
  }
  return out;
}

std::vector<std::string_view> split_path(std::string_view p) {
  std::vector<std::string_view> out;
  if (p.empty() || p[0] != '/') return out;
  p.remove_prefix(1);
  while (true) {
    auto slash = p.find('/');
    out.push_back(p.substr(0, slash));
    if (slash == std::string_view::npos) break;
    p.remove_prefix(slash + 1);
  }
  return out;
}

}  // namespace weft::http
