#include "weft/router/bolt_reader.hpp"

#include "weft/base/fnv.hpp"

#include <set>

namespace weft::router {

namespace {

constexpr std::uint32_t kMagic = 0xED0CDAED;
constexpr std::uint32_t kVersion = 2;
constexpr std::size_t kPageHeader = 16;
constexpr std::size_t kElem = 16;
constexpr std::uint16_t kBranch = 0x01, kLeaf = 0x02, kMeta = 0x04, kFreelist = 0x10;
constexpr std::uint32_t kBucketLeafFlag = 0x01;
constexpr int kMaxDepth = 32;
constexpr std::uint64_t kNoFreelist = ~std::uint64_t{0};  ///< bbolt's NoFreelistSync

template <typename T>
std::optional<T> le(ByteSpan s, std::size_t off) {
  if (off > s.size() || s.size() - off < sizeof(T)) return std::nullopt;
  T v = 0;
  for (std::size_t i = 0; i < sizeof(T); ++i) v |= static_cast<T>(static_cast<T>(s[off + i]) << (8 * i));
  return v;
}

struct Meta {
  std::uint32_t page_size = 0;
  std::uint64_t root = 0;
  std::uint64_t freelist = 0;
  std::uint64_t pgid = 0;
  std::uint64_t txid = 0;
};

/// The meta at byte offset `at` (a page header, then the meta), or why it is not valid.
Result<Meta> read_meta(ByteSpan file, std::size_t at) {
  if (at > file.size() || file.size() - at < kPageHeader + 64) return make_error("meta page at {} is truncated", at);
  auto page = file.subspan(at);
  auto flags = *le<std::uint16_t>(page, 8);
  if ((flags & kMeta) == 0) return make_error("page at {} is not a meta page (flags {:#x})", at, flags);
  auto m = page.subspan(kPageHeader, 64);
  if (*le<std::uint32_t>(m, 0) != kMagic) return make_error("meta page at {} has a bad magic number", at);
  if (auto v = *le<std::uint32_t>(m, 4); v != kVersion) return make_error("meta page at {}: version {} (want 2)", at, v);
  if (*le<std::uint64_t>(m, 56) != fnv1a64(m.subspan(0, 56))) return make_error("meta page at {}: bad checksum", at);
  Meta out;
  out.page_size = *le<std::uint32_t>(m, 8);
  out.root = *le<std::uint64_t>(m, 16);
  out.freelist = *le<std::uint64_t>(m, 32);
  out.pgid = *le<std::uint64_t>(m, 40);
  out.txid = *le<std::uint64_t>(m, 48);
  if (out.page_size < 512 || out.page_size > 65536 || (out.page_size & (out.page_size - 1)) != 0) {
    return make_error("meta page at {}: page size {} is not a power of two in 512..65536", at, out.page_size);
  }
  return out;
}

class Walker {
 public:
  Walker(ByteSpan file, const Meta& m) : file_(file), m_(m) {}

  /// The bytes of page `id` (with its overflow pages), checked.
  Result<ByteSpan> page(std::uint64_t id) {
    if (id < 2 || id >= m_.pgid) return make_error("page {} is outside the file's pages 2..{}", id, m_.pgid);
    if (!visited_.insert(id).second) return make_error("page {} is referenced twice", id);
    auto off = id * m_.page_size;
    auto head = file_.subspan(off);
    auto hid = le<std::uint64_t>(head, 0);
    auto overflow = le<std::uint32_t>(head, 12);
    if (!hid || !overflow) return make_error("page {} is truncated", id);
    if (*hid != id) return make_error("page {} says it is page {}", id, *hid);
    if (*overflow >= m_.pgid - id) return make_error("page {} overflows past the last page", id);
    std::uint64_t len = (std::uint64_t{*overflow} + 1) * m_.page_size;
    if (len > file_.size() - off) return make_error("page {} is truncated", id);
    return head.subspan(0, len);
  }

  Result<void> bucket(std::uint64_t root, BoltBucket& into, int depth) {
    if (depth > kMaxDepth) return make_error("buckets nested deeper than {}", kMaxDepth);
    WEFT_TRY(p, page(root));
    return node(p, into, depth, root);
  }

  /// A branch or leaf page (or an inline bucket's page, id 0) in `p`.
  Result<void> node(ByteSpan p, BoltBucket& into, int depth, std::uint64_t id) {
    auto flags = le<std::uint16_t>(p, 8);
    auto count = le<std::uint16_t>(p, 10);
    if (!flags || !count) return make_error("page {} is truncated", id);
    if (kPageHeader + std::size_t{*count} * kElem > p.size()) return make_error("page {}: {} elements do not fit", id, *count);
    for (std::size_t i = 0; i < *count; ++i) {
      std::size_t e = kPageHeader + i * kElem;
      if (*flags == kBranch) {
        auto pos = *le<std::uint32_t>(p, e), ksize = *le<std::uint32_t>(p, e + 4);
        auto child = *le<std::uint64_t>(p, e + 8);
        if (std::uint64_t{e} + pos + ksize > p.size()) return make_error("page {}: branch key {} is out of the page", id, i);
        WEFT_TRY_VOID(bucket(child, into, depth));
      } else if (*flags == kLeaf) {
        auto eflags = *le<std::uint32_t>(p, e), pos = *le<std::uint32_t>(p, e + 4);
        auto ksize = *le<std::uint32_t>(p, e + 8), vsize = *le<std::uint32_t>(p, e + 12);
        if (std::uint64_t{e} + pos + ksize + vsize > p.size()) {
          return make_error("page {}: leaf element {} is out of the page", id, i);
        }
        auto k = p.subspan(e + pos, ksize);
        auto v = p.subspan(e + pos + ksize, vsize);
        std::string key(reinterpret_cast<const char*>(k.data()), k.size());
        if (into.values.count(key) || into.buckets.count(key)) return make_error("page {}: key {:?} twice", id, key);
        if ((eflags & kBucketLeafFlag) == 0) {
          into.values.emplace(std::move(key), Bytes(v.begin(), v.end()));
          continue;
        }
        auto broot = le<std::uint64_t>(v, 0);
        if (!broot) return make_error("page {}: bucket {:?} has a truncated header", id, key);
        BoltBucket& sub = into.buckets[key];
        if (*broot != 0) {
          WEFT_TRY_VOID(bucket(*broot, sub, depth + 1));
        } else {
          if (depth + 1 > kMaxDepth) return make_error("buckets nested deeper than {}", kMaxDepth);
          auto inl = v.subspan(16);
          auto iflags = le<std::uint16_t>(inl, 8);
          if (!iflags || *iflags != kLeaf) return make_error("inline bucket {:?} is not a leaf page", key);
          WEFT_TRY_VOID(node(inl, sub, depth + 1, 0));
        }
      } else {
        return make_error("page {} is neither a branch nor a leaf (flags {:#x})", id, *flags);
      }
    }
    return {};
  }

  Result<std::vector<std::uint64_t>> freelist() {
    WEFT_TRY(p, page(m_.freelist));
    auto flags = *le<std::uint16_t>(p, 8);
    if (flags != kFreelist) return make_error("page {} is not the freelist (flags {:#x})", m_.freelist, flags);
    std::uint64_t count = *le<std::uint16_t>(p, 10);
    std::size_t at = kPageHeader;
    if (count == 0xFFFF) {
      auto c = le<std::uint64_t>(p, at);
      if (!c) return make_error("freelist is truncated");
      count = *c;
      at += 8;
    }
    if (count > (p.size() - at) / 8) return make_error("freelist: {} ids do not fit its page", count);
    std::vector<std::uint64_t> ids;
    for (std::uint64_t i = 0; i < count; ++i) {
      auto v = *le<std::uint64_t>(p, at + i * 8);
      if (v < 2 || v >= m_.pgid) return make_error("freelist names page {}, outside 2..{}", v, m_.pgid);
      ids.push_back(v);
    }
    return ids;
  }

 private:
  ByteSpan file_;
  Meta m_;
  std::set<std::uint64_t> visited_;
};

}  // namespace

bool is_boltdb(ByteSpan file) { return le<std::uint32_t>(file, kPageHeader) == kMagic; }

Result<BoltFile> read_boltdb(ByteSpan file) {
  auto m0 = read_meta(file, 0);
  auto m1 = read_meta(file, m0 ? m0->page_size : 4096);
  if (!m0 && !m1) return make_error("not a BoltDB file: {}", m0.error().message);
  const Meta& m = !m1 || (m0 && m0->txid >= m1->txid) ? *m0 : *m1;
  if (m.pgid < 2 || m.pgid > file.size() / m.page_size) {
    return make_error("the file holds {} pages but its meta page says {}", file.size() / m.page_size, m.pgid);
  }
  BoltFile out;
  out.page_size = m.page_size;
  out.txid = m.txid;
  out.high_water = m.pgid;
  Walker w(file, m);
  if (m.freelist != kNoFreelist) {
    WEFT_TRY(fl, w.freelist());
    out.free_pages = std::move(fl);
  }
  WEFT_TRY_VOID(w.bucket(m.root, out.root, 0));
  // Free pages must not be in use by the tree just read.
  for (auto id : std::set<std::uint64_t>(out.free_pages.begin(), out.free_pages.end())) {
    if (auto again = w.page(id); !again && again.error().message.find("twice") != std::string::npos) {
      return make_error("page {} is both free and in use", id);
    }
  }
  return out;
}

}  // namespace weft::router
