#pragma once
// A read-only, bounds-checked reader of BoltDB (bbolt) files: Weave Net keeps its state in one
// (`weavedata.db`: bucket `top`, gob values; spec §6.7). weft reads it once to carry a Weave
// host's identity, ring and addresses over, and never writes it.
//
// Format (all integers little-endian; a page is `page_size` bytes, page N at offset N*page_size):
//
//   page header  <[8] id> <[2] flags> <[2] count> <[4] overflow>        16 bytes
//                flags: 0x01 branch, 0x02 leaf, 0x04 meta, 0x10 freelist; a page with overflow
//                k spans k+1 pages
//   meta (pages 0 and 1, after the header)
//                <[4] magic 0xED0CDAED> <[4] version 2> <[4] page size> <[4] flags>
//                <[8] root bucket page> <[8] root sequence> <[8] freelist page>
//                <[8] high-water page id> <[8] txid> <[8] FNV-1a 64 of the 56 bytes before>
//                the valid meta with the higher txid is current
//   freelist     count page ids (<[8]> each); count 0xFFFF: the first id slot holds the count
//   branch elem  <[4] pos> <[4] key size> <[8] child page>     key at elem + pos
//   leaf elem    <[4] flags> <[4] pos> <[4] key size> <[4] value size>   key at elem + pos,
//                value right after it; flags 0x01: the value is a bucket
//                <[8] root page> <[8] sequence>, and root 0 means an inline bucket whose page
//                (header and elements) follows in the value
//
// Every offset and size is checked against the file; a page is read at most once per walk (no
// cycles), nesting is limited, and anything off is an error naming what was wrong.
#include <cstdint>
#include <map>
#include <string>
#include <vector>

#include "weft/base/bytes.hpp"
#include "weft/base/result.hpp"

namespace weft::router {

struct BoltBucket {
  std::map<std::string, Bytes> values;
  std::map<std::string, BoltBucket> buckets;
};

struct BoltFile {
  std::uint32_t page_size = 0;
  std::uint64_t txid = 0;
  std::uint64_t high_water = 0;        ///< pages in use: [0, high_water)
  std::vector<std::uint64_t> free_pages;  ///< the freelist
  BoltBucket root;                      ///< top-level buckets (the root holds no plain values)
};

/// True when `file` starts like a BoltDB file (meta page 0's magic), whatever else it holds.
bool is_boltdb(ByteSpan file);

/// Reads the whole file (a Weave state file is a few pages).
Result<BoltFile> read_boltdb(ByteSpan file);

}  // namespace weft::router
