// libFuzzer: the Kubernetes watch stream (bytes from the API server) through the line reader and
// the event decoder, and the same bytes as a Status body.
#include <cstddef>
#include <cstdint>
#include <string_view>

#include "fuzz_check.hpp"
#include "weft/kube/watch_stream.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  std::string_view in(reinterpret_cast<const char*>(data), size);
  weft::kube::LineReader r(4096);
  // Feed in two pieces split at a data-dependent point, as chunked transfer would.
  std::size_t cut = size > 0 ? data[0] % (size + 1) : 0;
  if (r.feed(in.substr(0, cut)) && r.feed(in.substr(cut))) {
    while (auto line = r.next()) {
      auto ev = weft::kube::parse_watch_event(*line);
      if (ev.ok()) {
        (void)ev->resource_version();
        (void)weft::kube::object_key(ev->object);
        if (ev->type == weft::kube::EventType::error) (void)weft::kube::error_from_status(ev->object);
      }
    }
  }
  auto e = weft::kube::error_from_response(409, in);
  FUZZ_CHECK(e.kind == weft::kube::ErrorKind::conflict);
  return 0;
}
