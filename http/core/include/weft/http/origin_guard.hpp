#pragma once
// The control API must not be drivable from a web page (issue 18, item 5). A browser on the host
// can send a cross-origin POST to 127.0.0.1:6784, and with DNS rebinding a page on evil.example
// can even reach it under its own name. Neither can forge the Host header of the name it used,
// nor suppress Origin on a POST, so a state-changing request is refused when:
//   - it carries an Origin other than the API's own (http://<Host>), or "null"; or
//   - its Host is neither a loopback name/address ("localhost", 127.0.0.0/8, [::1]) nor the IP
//     address the connection arrived on (for an API bound to a non-loopback address).
// `weave`, the plugin and the proxy send no Origin and use the address they connect to, so they
// are unaffected. GET, HEAD and OPTIONS are not state-changing and pass.
#include <optional>
#include <string>
#include <string_view>

#include "weft/http/request.hpp"

namespace weft::http {

/// Why `req` is refused (the text of a 403), or nullopt when it may proceed. `local_ip` is the
/// address the connection arrived on ("" when unknown).
std::optional<std::string> browser_request_refusal(const HttpRequest& req, std::string_view local_ip);

}  // namespace weft::http
