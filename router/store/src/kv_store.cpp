#include "weft/router/kv_store.hpp"

#include <fcntl.h>
#include <sodium.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <fstream>
#include <iterator>

namespace weft::router {
namespace {

constexpr std::string_view kMagic = "WEFTDB1\n";
constexpr std::string_view kJournalMagic = "WEFTJNL1";
constexpr std::size_t kJournalHeader = 8 + 16;
constexpr std::uint8_t kOpPut = 1, kOpErase = 2, kOpDelta = 3;
/// The snapshot's generation, stored with the data but never part of it.
const std::string kGenerationKey("\0weft-generation", 16);

Result<Bytes> read_file(const std::string& path, bool& missing) {
  missing = false;
  std::ifstream in(path, std::ios::binary);
  if (!in) {
    if (errno == ENOENT) {
      missing = true;
      return Bytes{};
    }
    return make_error("cannot read state file {}: {}", path, std::strerror(errno));
  }
  return Bytes((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
}

Result<void> write_all(int fd, ByteSpan b, const std::string& what) {
  std::size_t off = 0;
  while (off < b.size()) {
    auto n = ::write(fd, b.data() + off, b.size() - off);
    if (n < 0) {
      if (errno == EINTR) continue;
      return make_error("cannot write state file {}: {}", what, std::strerror(errno));
    }
    off += static_cast<std::size_t>(n);
  }
  return {};
}

void sync_dir(const std::string& path) {
  auto slash = path.rfind('/');
  auto dir = slash == std::string::npos ? std::string(".") : path.substr(0, slash == 0 ? 1 : slash);
  int dfd = ::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (dfd >= 0) {
    ::fsync(dfd);
    ::close(dfd);
  }
}

/// Writes `bytes` to `path` atomically and durably (temp file, fsync, rename, directory fsync).
Result<void> replace_file(const std::string& path, ByteSpan bytes) {
  auto tmp = path + ".tmp";
  int fd = ::open(tmp.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
  if (fd < 0) return make_error("cannot write state file {}: {}", tmp, std::strerror(errno));
  if (auto r = write_all(fd, bytes, tmp); !r) {
    ::close(fd);
    return r;
  }
  if (::fsync(fd) != 0 || ::close(fd) != 0) return make_error("cannot sync state file {}: {}", tmp, std::strerror(errno));
  if (::rename(tmp.c_str(), path.c_str()) != 0) {
    return make_error("cannot replace state file {}: {}", path, std::strerror(errno));
  }
  sync_dir(path);
  return {};
}

void encode_record(Bytes& out, const Bytes& body) {
  std::uint8_t h[crypto_hash_sha256_BYTES];
  crypto_hash_sha256(h, body.data(), body.size());
  ByteWriter w(out);
  w.u32be(static_cast<std::uint32_t>(body.size()));
  w.put(body);
  w.put(ByteSpan(h, sizeof h));
}

/// One journal record for `key` changing from `prev` to `value`. A value that shares most of its
/// bytes with the previous one (the owned-addresses map after one more allocation) is written as
/// a delta: the common prefix and suffix lengths and the bytes in between.
void encode_change(Bytes& out, const std::string& key, const std::optional<Bytes>& prev,
                   const std::optional<Bytes>& value) {
  Bytes body;
  ByteWriter b(body);
  std::size_t prefix = 0, suffix = 0;
  if (value && prev) {
    auto limit = std::min(prev->size(), value->size());
    while (prefix < limit && (*prev)[prefix] == (*value)[prefix]) ++prefix;
    while (suffix < limit - prefix && (*prev)[prev->size() - 1 - suffix] == (*value)[value->size() - 1 - suffix]) ++suffix;
  }
  b.u8(!value ? kOpErase : prefix + suffix >= 64 ? kOpDelta : kOpPut);
  b.u16be(static_cast<std::uint16_t>(key.size()));
  b.put(key);
  if (value && prefix + suffix >= 64) {
    b.u32be(static_cast<std::uint32_t>(prefix));
    b.u32be(static_cast<std::uint32_t>(suffix));
    auto mid = ByteSpan(*value).subspan(prefix, value->size() - prefix - suffix);
    b.u32be(static_cast<std::uint32_t>(mid.size()));
    b.put(mid);
  } else if (value) {
    b.u32be(static_cast<std::uint32_t>(value->size()));
    b.put(*value);
  }
  encode_record(out, body);
}

/// Applies the journal's intact records to `data`. Stops at the first damaged or incomplete one.
void replay(ByteSpan journal, std::map<std::string, Bytes>& data) {
  ByteReader r(journal);
  while (!r.empty()) {
    auto len = r.u32be();
    auto body = len ? r.take(*len) : std::nullopt;
    auto sum = body ? r.take(crypto_hash_sha256_BYTES) : std::nullopt;
    if (!sum) return;
    std::uint8_t h[crypto_hash_sha256_BYTES];
    crypto_hash_sha256(h, body->data(), body->size());
    if (std::memcmp(h, sum->data(), sizeof h) != 0) return;
    ByteReader br(*body);
    auto op = br.u8();
    auto kl = op ? br.u16be() : std::nullopt;
    auto k = kl ? br.take(*kl) : std::nullopt;
    if (!k) return;
    std::string key(k->begin(), k->end());
    if (*op == kOpPut) {
      auto vl = br.u32be();
      auto v = vl ? br.take(*vl) : std::nullopt;
      if (!v || !br.empty()) return;
      data[key] = Bytes(v->begin(), v->end());
    } else if (*op == kOpDelta) {
      auto prefix = br.u32be();
      auto suffix = prefix ? br.u32be() : std::nullopt;
      auto ml = suffix ? br.u32be() : std::nullopt;
      auto mid = ml ? br.take(*ml) : std::nullopt;
      auto cur = data.find(key);
      if (!mid || !br.empty() || cur == data.end() || std::uint64_t{*prefix} + *suffix > cur->second.size()) return;
      Bytes v(cur->second.begin(), cur->second.begin() + *prefix);
      v.insert(v.end(), mid->begin(), mid->end());
      v.insert(v.end(), cur->second.end() - *suffix, cur->second.end());
      cur->second = std::move(v);
    } else if (*op == kOpErase && br.empty()) {
      data.erase(key);
    } else {
      return;
    }
  }
}

}  // namespace

KvStore::KvStore(KvStore&& o) noexcept
    : path_(std::move(o.path_)),
      data_(std::move(o.data_)),
      generation_(o.generation_),
      jfd_(std::exchange(o.jfd_, -1)),
      journal_bytes_(o.journal_bytes_),
      snapshot_bytes_(o.snapshot_bytes_) {}

KvStore& KvStore::operator=(KvStore&& o) noexcept {
  if (this != &o) {
    close_journal();
    path_ = std::move(o.path_);
    data_ = std::move(o.data_);
    generation_ = o.generation_;
    jfd_ = std::exchange(o.jfd_, -1);
    journal_bytes_ = o.journal_bytes_;
    snapshot_bytes_ = o.snapshot_bytes_;
  }
  return *this;
}

KvStore::~KvStore() { close_journal(); }

void KvStore::close_journal() {
  if (jfd_ >= 0) ::close(jfd_);
  jfd_ = -1;
}

Bytes KvStore::encode(const std::map<std::string, Bytes>& data) {
  Bytes out;
  ByteWriter w(out);
  w.put(kMagic);
  w.u32be(static_cast<std::uint32_t>(data.size()));
  for (auto& [k, v] : data) {
    w.u16be(static_cast<std::uint16_t>(k.size()));
    w.put(k);
    w.u32be(static_cast<std::uint32_t>(v.size()));
    w.put(v);
  }
  std::uint8_t h[crypto_hash_sha256_BYTES];
  crypto_hash_sha256(h, out.data(), out.size());
  w.put(ByteSpan(h, sizeof h));
  return out;
}

Result<std::map<std::string, Bytes>> KvStore::decode(ByteSpan file) {
  if (file.size() < kMagic.size() + 4 + crypto_hash_sha256_BYTES ||
      !std::equal(kMagic.begin(), kMagic.end(), file.begin())) {
    return make_error("not a weft state file (bad header)");
  }
  auto body = file.first(file.size() - crypto_hash_sha256_BYTES);
  std::uint8_t h[crypto_hash_sha256_BYTES];
  crypto_hash_sha256(h, body.data(), body.size());
  if (std::memcmp(h, file.data() + body.size(), sizeof h) != 0) return make_error("checksum mismatch");
  ByteReader r(body.subspan(kMagic.size()));
  auto n = r.u32be();
  std::map<std::string, Bytes> data;
  for (std::uint32_t i = 0; n && i < *n; ++i) {
    auto kl = r.u16be();
    auto k = kl ? r.take(*kl) : std::nullopt;
    auto vl = k ? r.u32be() : std::nullopt;
    auto v = vl ? r.take(*vl) : std::nullopt;
    if (!v) return make_error("truncated record");
    data[std::string(k->begin(), k->end())] = Bytes(v->begin(), v->end());
  }
  if (!n || !r.empty()) return make_error("bad record count");
  return data;
}

Result<KvStore> KvStore::open(std::string path) {
  KvStore s;
  s.path_ = std::move(path);
  bool missing = false;
  WEFT_TRY(file, read_file(s.path_, missing));
  if (missing) return s;  // a journal without its snapshot (after `weave reset`) is not replayed
  auto d = decode(file);
  if (!d) {
    return make_error(
        "state file {} is corrupt ({}). Nothing was changed. Move it aside to start with a fresh state "
        "(this router will then forget its peers and IP allocations), or run 'weave reset'",
        s.path_, d.error().message);
  }
  s.data_ = std::move(*d);
  s.snapshot_bytes_ = file.size();
  auto gen = s.data_.find(kGenerationKey);
  if (gen == s.data_.end()) return s;  // written before journals existed: nothing to replay
  if (gen->second.size() == s.generation_.size()) std::copy(gen->second.begin(), gen->second.end(), s.generation_.begin());
  s.data_.erase(gen);
  bool jmissing = false;
  auto journal = read_file(s.path_ + ".journal", jmissing);
  if (journal && !jmissing && journal->size() >= kJournalHeader &&
      std::equal(kJournalMagic.begin(), kJournalMagic.end(), journal->begin()) &&
      std::equal(s.generation_.begin(), s.generation_.end(), journal->begin() + 8)) {
    replay(ByteSpan(*journal).subspan(kJournalHeader), s.data_);
  }
  // Appending starts after a compaction (the first write of this process), which also drops a
  // torn tail.
  return s;
}

std::optional<Bytes> KvStore::get(const std::string& key) const {
  auto it = data_.find(key);
  if (it == data_.end()) return std::nullopt;
  return it->second;
}

Result<void> KvStore::put(const std::string& key, Bytes value) {
  std::vector<Change> c;
  c.push_back({key, std::move(value)});
  return commit(std::move(c));
}

Result<void> KvStore::put_many(std::vector<std::pair<std::string, Bytes>> kvs) {
  std::vector<Change> c;
  for (auto& [k, v] : kvs) c.push_back({std::move(k), std::move(v)});
  return commit(std::move(c));
}

Result<void> KvStore::erase(const std::string& key) { return commit({Change{key, std::nullopt}}); }

Result<void> KvStore::commit(std::vector<Change> changes) {
  // The previous values: for deltas, and to undo the change if it cannot be made durable.
  std::vector<std::optional<Bytes>> prev;
  for (auto& c : changes) {
    auto it = data_.find(c.key);
    prev.push_back(it == data_.end() ? std::nullopt : std::optional<Bytes>(it->second));
  }
  Result<void> r;
  if (jfd_ >= 0) {
    r = append(changes, prev);
    if (r) apply(changes);
  } else {
    apply(changes);
    r = compact();
  }
  if (!r) {
    for (std::size_t i = changes.size(); i-- > 0;) {
      if (prev[i]) {
        data_[changes[i].key] = std::move(*prev[i]);
      } else {
        data_.erase(changes[i].key);
      }
    }
    return r;
  }
  if (journal_bytes_ > std::max<std::uint64_t>(kCompactMin, kCompactRatio * snapshot_bytes_)) {
    // Already durable in the journal: a failed compaction only means the next write retries it.
    (void)compact();
  }
  return {};
}

void KvStore::apply(std::vector<Change>& changes) {
  for (auto& c : changes) {
    if (c.value) {
      data_[c.key] = std::move(*c.value);
    } else {
      data_.erase(c.key);
    }
  }
}

Result<void> KvStore::append(const std::vector<Change>& changes, const std::vector<std::optional<Bytes>>& prev) {
  Bytes rec;
  for (std::size_t i = 0; i < changes.size(); ++i) encode_change(rec, changes[i].key, prev[i], changes[i].value);
  auto w = write_all(jfd_, rec, path_ + ".journal");
  if (w && ::fdatasync(jfd_) != 0) w = make_error("cannot sync state file {}.journal: {}", path_, std::strerror(errno));
  if (!w) {
    // The journal's tail is now unknown: the next write starts afresh with a compaction.
    close_journal();
    return w;
  }
  journal_bytes_ += rec.size();
  return {};
}

Result<void> KvStore::compact() {
  std::array<std::uint8_t, 16> gen{};
  randombytes_buf(gen.data(), gen.size());
  auto with_gen = data_;
  with_gen[kGenerationKey] = Bytes(gen.begin(), gen.end());
  auto bytes = encode(with_gen);
  WEFT_TRY_VOID(replace_file(path_, bytes));
  // From here the old journal (another generation) is ignored on load; until the new one is in
  // place, nothing may be appended to the old one.
  close_journal();
  generation_ = gen;
  snapshot_bytes_ = bytes.size();
  Bytes header;
  ByteWriter w(header);
  w.put(kJournalMagic);
  w.put(ByteSpan(gen.data(), gen.size()));
  // The data is durable in the snapshot now; without a journal the next write compacts again.
  auto jpath = path_ + ".journal";
  if (!replace_file(jpath, header)) return {};
  jfd_ = ::open(jpath.c_str(), O_WRONLY | O_APPEND | O_CLOEXEC);
  journal_bytes_ = header.size();
  return {};
}

}  // namespace weft::router
