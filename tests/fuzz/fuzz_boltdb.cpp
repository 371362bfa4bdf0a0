// Fuzzes the BoltDB reader (router/bolt_reader.hpp) and the Weave state import on top of it
// (ipam/weave_import.hpp) with arbitrary files. Must never crash or read out of bounds; whatever
// it accepts must be self-consistent: pages in use are inside the file, free pages are inside the
// file, and an accepted Weave state carries only the keys it decoded.
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>

#include "weft/ipam/weave_import.hpp"
#include "weft/router/bolt_reader.hpp"

namespace {

[[noreturn]] void fail(const char* what) {
  std::fprintf(stderr, "fuzz_boltdb: %s\n", what);
  std::abort();
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  using namespace weft;
  ByteSpan in(data, size);
  auto db = router::read_boltdb(in);
  if (db) {
    if (db->high_water * db->page_size > size) fail("accepted a file shorter than its pages");
    for (auto id : db->free_pages) {
      if (id < 2 || id >= db->high_water) fail("free page outside the file");
    }
  }
  auto st = ipam::read_weave_state(in);
  if (st) {
    if (!db) fail("Weave state read from a file the reader refuses");
    for (const auto& [k, v] : st->carried) {
      bool known = k == "peername" || k == "ring" || k == "ownedAddresses" || k == "directPeers" ||
                   k.starts_with("flag:");
      if (!known) fail("carried an unknown key");
    }
  }
  return 0;
}
