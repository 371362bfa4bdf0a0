#include "weft/router/kv_store.hpp"

#include <fcntl.h>
#include <sodium.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <fstream>
#include <iterator>

namespace weft::router {
namespace {
constexpr std::string_view kMagic = "WEFTDB1\n";
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
  std::ifstream in(s.path_, std::ios::binary);
  if (!in) {
    if (errno == ENOENT) return s;
    return make_error("cannot read state file {}: {}", s.path_, std::strerror(errno));
  }
  Bytes file((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  auto d = decode(file);
  if (!d) {
    return make_error(
        "state file {} is corrupt ({}). Nothing was changed. Move it aside to start with a fresh state "
        "(this router will then forget its peers and IP allocations), or run 'weave reset'",
        s.path_, d.error().message);
  }
  s.data_ = std::move(*d);
  return s;
}

std::optional<Bytes> KvStore::get(const std::string& key) const {
  auto it = data_.find(key);
  if (it == data_.end()) return std::nullopt;
  return it->second;
}

Result<void> KvStore::put(const std::string& key, Bytes value) {
  auto old = data_;
  data_[key] = std::move(value);
  auto r = save();
  if (!r) data_ = std::move(old);
  return r;
}

Result<void> KvStore::erase(const std::string& key) {
  auto old = data_;
  data_.erase(key);
  auto r = save();
  if (!r) data_ = std::move(old);
  return r;
}

Result<void> KvStore::save() {
  auto bytes = encode(data_);
  auto tmp = path_ + ".tmp";
  int fd = ::open(tmp.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
  if (fd < 0) return make_error("cannot write state file {}: {}", tmp, std::strerror(errno));
  std::size_t off = 0;
  while (off < bytes.size()) {
    auto n = ::write(fd, bytes.data() + off, bytes.size() - off);
    if (n < 0) {
      if (errno == EINTR) continue;
      auto e = errno;
      ::close(fd);
      return make_error("cannot write state file {}: {}", tmp, std::strerror(e));
    }
    off += static_cast<std::size_t>(n);
  }
  if (::fsync(fd) != 0 || ::close(fd) != 0) return make_error("cannot sync state file {}: {}", tmp, std::strerror(errno));
  if (::rename(tmp.c_str(), path_.c_str()) != 0) {
    return make_error("cannot replace state file {}: {}", path_, std::strerror(errno));
  }
  auto slash = path_.rfind('/');
  auto dir = slash == std::string::npos ? std::string(".") : path_.substr(0, slash == 0 ? 1 : slash);
  int dfd = ::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (dfd >= 0) {
    ::fsync(dfd);
    ::close(dfd);
  }
  return {};
}

}  // namespace weft::router
