#include "weft/http/response.hpp"

namespace weft::http {

HttpResponse text_response(int status, std::string body) {
  HttpResponse r;
  r.status = status;
  r.body = std::move(body);
  return r;
}

HttpResponse json_response(std::string body) {
  HttpResponse r;
  r.content_type = std::string(kApplicationJson);
  r.body = std::move(body);
  return r;
}

HttpResponse empty_response(int status) {
  HttpResponse r;
  r.status = status;
  return r;
}

std::string_view status_text(int status) {
  switch (status) {
    case 100: return "Continue";
    case 101: return "Switching Protocols";
    case 200: return "OK";
    case 201: return "Created";
    case 202: return "Accepted";
    case 204: return "No Content";
    case 206: return "Partial Content";
    case 301: return "Moved Permanently";
    case 302: return "Found";
    case 303: return "See Other";
    case 304: return "Not Modified";
    case 307: return "Temporary Redirect";
    case 308: return "Permanent Redirect";
    case 400: return "Bad Request";
    case 401: return "Unauthorized";
    case 403: return "Forbidden";
    case 404: return "Not Found";
    case 405: return "Method Not Allowed";
    case 406: return "Not Acceptable";
    case 408: return "Request Timeout";
    case 409: return "Conflict";
    case 411: return "Length Required";
    case 413: return "Request Entity Too Large";
    case 414: return "Request URI Too Long";
    case 415: return "Unsupported Media Type";
    case 417: return "Expectation Failed";
    case 429: return "Too Many Requests";
    case 431: return "Request Header Fields Too Large";
    case 500: return "Internal Server Error";
    case 501: return "Not Implemented";
    case 502: return "Bad Gateway";
    case 503: return "Service Unavailable";
    case 504: return "Gateway Timeout";
    case 505: return "HTTP Version Not Supported";
    default: return "";
  }
}

}  // namespace weft::http

namespace weft::http {

void Deferred::resolve(HttpResponse res) {
  if (resolved_) return;
  resolved_ = true;
  if (sink_) {
    auto sink = std::move(sink_);
    sink(std::move(res));
  } else {
    early_ = std::make_shared<HttpResponse>(std::move(res));
  }
}

void Deferred::bind(std::function<void(HttpResponse)> sink) {
  if (early_) {
    auto res = std::move(*early_);
    early_.reset();
    sink(std::move(res));
    return;
  }
  sink_ = std::move(sink);
}

HttpResponse deferred_response(std::shared_ptr<Deferred> d) {
  HttpResponse r;
  r.status = 200;
  r.deferred = std::move(d);
  return r;
}

}  // namespace weft::http
