#include "weft/mesh/handshake.hpp"

#include "weft/base/log_safe.hpp"

#include <algorithm>
#include <charconv>
#include <utility>

namespace weft::mesh {

namespace {

constexpr std::uint8_t kFlagPlain = 0;
constexpr std::uint8_t kFlagEncrypted = 1;

/// Go strconv.ParseUint(s, 10, 64): digits only, no sign, no spaces, no overflow.
std::optional<std::uint64_t> parse_u64(std::string_view s) {
  if (s.empty()) return std::nullopt;
  std::uint64_t v = 0;
  auto [p, ec] = std::from_chars(s.data(), s.data() + s.size(), v);
  if (ec != std::errc() || p != s.data() + s.size()) return std::nullopt;
  return v;
}

/// Go strconv.ParseBool.
std::optional<bool> parse_go_bool(std::string_view s) {
  if (s == "1" || s == "t" || s == "T" || s == "TRUE" || s == "true" || s == "True") return true;
  if (s == "0" || s == "f" || s == "F" || s == "FALSE" || s == "false" || s == "False") {
    return false;
  }
  return std::nullopt;
}

const std::string* find(const Features& f, const char* key) {
  auto it = f.find(key);
  return it == f.end() ? nullptr : &it->second;
}

}  // namespace

// ---- features

Features make_features(const LocalFeatures& f) {
  std::string overlays;
  for (const auto& o : f.overlays) {
    if (!overlays.empty()) overlays.push_back(' ');
    overlays += o;
  }
  Features out{
      {"PeerNameFlavour", std::string(kPeerNameFlavour)},
      {"Name", f.name.str()},
      {"NickName", f.nickname},
      {"UID", std::to_string(f.uid)},
      {"ConnID", std::to_string(f.conn_id)},
      {"ShortID", std::to_string(f.short_id.value())},
      {"Trusted", f.trusted ? "true" : "false"},
      {"Overlays", overlays},
  };
  if (!f.weft_overlay.empty()) out.emplace("WeftOverlay", f.weft_overlay);
  if (!f.weft_gossip.empty()) out.emplace("WeftGossip", f.weft_gossip);
  return out;
}

Result<RemoteFeatures> parse_remote_features(const Features& f) {
  for (const char* key : {"PeerNameFlavour", "Name", "NickName", "UID", "ConnID"}) {
    if (!find(f, key)) return make_error("field {} is missing", key);
  }
  if (const auto& flavour = *find(f, "PeerNameFlavour"); flavour != kPeerNameFlavour) {
    return make_error("Peer name flavour mismatch (ours: '{}', theirs: '{}')", kPeerNameFlavour,
                      log_safe(flavour));
  }
  RemoteFeatures r;
  const auto& name = *find(f, "Name");
  auto parsed = PeerName::parse(name);
  if (!parsed) return make_error("invalid peer name '{}'", log_safe(name));
  r.name = *parsed;
  r.nickname = *find(f, "NickName");
  auto uid = parse_u64(*find(f, "UID"));
  if (!uid) return make_error("invalid UID '{}'", log_safe(*find(f, "UID")));
  r.uid = *uid;
  auto conn_id = parse_u64(*find(f, "ConnID"));
  if (!conn_id) return make_error("invalid ConnID '{}'", log_safe(*find(f, "ConnID")));
  r.conn_id = *conn_id;
  if (const auto* s = find(f, "ShortID")) {
    auto id = ShortID::parse(*s);
    if (!id) return make_error("invalid ShortID '{}' (must be 0..{})", log_safe(*s), ShortID::kMax);
    r.short_id = *id;
  }
  if (const auto* s = find(f, "Trusted")) {
    auto t = parse_go_bool(*s);
    if (!t) return make_error("invalid Trusted '{}'", log_safe(*s));
    r.trusted = *t;
  }
  auto words = [](std::string_view rest) {
    std::vector<std::string> names;
    while (!rest.empty()) {
      auto sp = rest.find(' ');
      auto word = rest.substr(0, sp);
      if (!word.empty()) names.emplace_back(word);
      if (sp == std::string_view::npos) break;
      rest.remove_prefix(sp + 1);
    }
    return names;
  };
  if (const auto* s = find(f, "Overlays")) r.overlays = words(*s);
  if (const auto* s = find(f, "WeftOverlay")) r.weft_overlay = words(*s);
  if (const auto* s = find(f, "WeftGossip")) r.weft_gossip = words(*s);
  return r;
}

// ---- Handshake

Handshake::Handshake(HandshakeParams params, std::optional<KeyPair> ephemeral)
    : params_(std::move(params)), ephemeral_(std::move(ephemeral)) {
  if (!params_.password) {
    ephemeral_.reset();
  } else if (!ephemeral_) {
    // A programming error, reported through the normal channel rather than by aborting.
    state_ = State::failed;
    error_ = make_error("handshake configured with a password but no ephemeral key pair");
  }
}

Handshake Handshake::create(HandshakeParams params, Random& rng) {
  std::optional<KeyPair> kp;
  if (params.password) kp = KeyPair::generate(rng);
  return Handshake(std::move(params), std::move(kp));
}

Bytes Handshake::start() {
  if (started_) return {};
  started_ = true;
  Bytes out;
  ByteWriter w(out);
  w.put(kProtocolMagic);
  w.u8(kProtocolMinVersion);
  w.u8(kProtocolMaxVersion);
  return out;
}

Result<void> Handshake::fail(Error e) {
  state_ = State::failed;
  error_ = e;
  return e;
}

Result<Bytes> Handshake::feed(ByteSpan chunk) {
  if (state_ == State::failed) return *error_;
  Bytes out = start();
  switch (state_) {
    case State::header:
    case State::flag:
    case State::public_key:
      in_.insert(in_.end(), chunk.begin(), chunk.end());
      break;
    case State::features:
      frames_.feed(chunk);
      break;
    case State::done:
      result_.leftover.insert(result_.leftover.end(), chunk.begin(), chunk.end());
      return out;
    case State::failed:
      break;
  }
  if (auto r = step(out); !r) return r.error();
  return out;
}

Result<void> Handshake::step(Bytes& out) {
  std::size_t pos = 0;
  auto avail = [&] { return in_.size() - pos; };
  // Hands unconsumed intro bytes to the frame reader once the intro is over.
  auto enter_features = [&]() -> Result<void> {
    state_ = State::features;
    frames_.feed(ByteSpan(in_).subspan(pos));
    in_.clear();
    pos = 0;
    // Our features: the first message, sealed with sequence 0 when encrypted.
    Bytes body = encode_features(params_.features);
    if (result_.sealer) body = result_.sealer->seal(body);
    if (auto r = append_frame(out, body); !r) return fail(r.error());
    return {};
  };

  for (;;) {
    switch (state_) {
      case State::header: {
        if (avail() < kProtocolHeaderSize) {
          in_.erase(in_.begin(), in_.begin() + static_cast<std::ptrdiff_t>(pos));
          return {};
        }
        ByteSpan h(in_.data() + pos, kProtocolHeaderSize);
        pos += kProtocolHeaderSize;
        if (!std::equal(kProtocolMagic.begin(), kProtocolMagic.end(), h.begin())) {
          return fail(make_error("remote protocol header not recognised: {}",
                                 to_hex(h.first(kProtocolMagic.size()))));
        }
        const std::uint8_t their_min = h[5], their_max = h[6];
        const std::uint8_t lo = std::max(their_min, kProtocolMinVersion);
        const std::uint8_t hi = std::min(their_max, kProtocolMaxVersion);
        if (lo > hi) {
          if (their_max == 1 && their_min <= 1) {
            return fail(make_error(
                "peer only supports protocol version 1, which weft does not implement"));
          }
          return fail(make_error("remote version range [{},{}] is incompatible with ours [{},{}]",
                                 their_min, their_max, kProtocolMinVersion,
                                 kProtocolMaxVersion));
        }
        result_.version = hi;
        // Version 2 intro: our encryption flag and, if encrypting, the ephemeral public key.
        if (ephemeral_) {
          out.push_back(kFlagEncrypted);
          const auto& pk = ephemeral_->public_key();
          out.insert(out.end(), pk.begin(), pk.end());
        } else {
          out.push_back(kFlagPlain);
        }
        state_ = State::flag;
        break;
      }
      case State::flag: {
        if (avail() < 1) {
          in_.clear();
          return {};
        }
        const std::uint8_t flag = in_[pos++];
        if (flag == kFlagPlain) {
          if (ephemeral_) {
            return fail(make_error("password specified, but peer requested an unencrypted "
                                   "connection"));
          }
          WEFT_TRY_VOID(enter_features());
        } else if (flag == kFlagEncrypted) {
          if (!ephemeral_) {
            return fail(make_error("no password specified, but peer requested an encrypted "
                                   "connection"));
          }
          state_ = State::public_key;
        } else {
          return fail(make_error("bad encryption flag {}", flag));
        }
        break;
      }
      case State::public_key: {
        if (avail() < kKeySize) {
          in_.erase(in_.begin(), in_.begin() + static_cast<std::ptrdiff_t>(pos));
          return {};
        }
        PublicKey theirs{};
        std::copy_n(in_.begin() + static_cast<std::ptrdiff_t>(pos), kKeySize, theirs.begin());
        pos += kKeySize;
        auto key = form_session_key(theirs, *ephemeral_, *params_.password);
        if (!key) return fail(key.error());
        ephemeral_.reset();  // no longer needed; wipes the secret
        result_.session_key = *key;
        result_.sealer.emplace(*key, params_.side);
        result_.opener.emplace(*key, params_.side);
        WEFT_TRY_VOID(enter_features());
        break;
      }
      case State::features: {
        auto frame = frames_.next();
        if (!frame) return fail(frame.error());
        if (!frame->has_value()) return {};
        ByteSpan body = **frame;
        Bytes opened;
        if (result_.opener) {
          auto r = result_.opener->open(body);
          if (!r) {
            return fail(make_error("cannot open the peer's features message (wrong password?): "
                                   "{}",
                                   r.error().message));
          }
          opened = std::move(r).value();
          body = opened;
        }
        auto features = decode_features(body);
        if (!features) return fail(make_error("bad features message: {}", features.error().message));
        result_.features = std::move(features).value();
        result_.leftover = frames_.take_buffered();
        state_ = State::done;
        return {};
      }
      case State::done:
      case State::failed:
        return {};
    }
  }
}

HandshakeResult Handshake::take_result() {
  HandshakeResult r = std::move(result_);
  result_ = HandshakeResult{};
  return r;
}

// ---- message layer

MessageReader MessageReader::from_handshake(HandshakeResult& r) {
  MessageReader reader(std::move(r.opener));
  r.opener.reset();
  reader.feed(r.leftover);
  r.leftover.clear();
  return reader;
}

Result<std::optional<ProtocolMessage>> MessageReader::next() {
  for (;;) {
    if (error_) return *error_;
    auto frame = frames_.next();
    if (!frame) {
      error_ = frame.error();
      continue;
    }
    if (!frame->has_value()) return std::optional<ProtocolMessage>{};
    Bytes body;
    if (opener_) {
      auto r = opener_->open(**frame);
      if (!r) {
        error_ = r.error();
        continue;
      }
      body = std::move(r).value();
    } else {
      body.assign((*frame)->begin(), (*frame)->end());
    }
    if (body.empty()) {
      ++skipped_;
      continue;
    }
    const auto tag = static_cast<ProtocolTag>(body[0]);
    if (tag == ProtocolTag::overlay_control && body.size() == 1) {
      ++skipped_;
      continue;
    }
    body.erase(body.begin());
    return std::optional<ProtocolMessage>{ProtocolMessage{tag, std::move(body)}};
  }
}

MessageWriter MessageWriter::from_handshake(HandshakeResult& r) {
  MessageWriter w(std::move(r.sealer));
  r.sealer.reset();
  return w;
}

Result<void> MessageWriter::append(Bytes& out, ProtocolTag tag, ByteSpan payload) {
  if (tag == ProtocolTag::overlay_control && payload.empty()) {
    return make_error("refusing to send an overlay control message with an empty payload");
  }
  const std::size_t body_size = 1 + payload.size() + (sealer_ ? kSecretboxOverhead : 0);
  if (body_size > kMaxTcpMessageSize) {
    return make_error("outgoing message exceeds maximum size: {} > {}", body_size,
                      kMaxTcpMessageSize);
  }
  scratch_.clear();
  scratch_.push_back(static_cast<std::uint8_t>(tag));
  scratch_.insert(scratch_.end(), payload.begin(), payload.end());
  if (!sealer_) return append_frame(out, scratch_);
  ByteWriter(out).u32be(static_cast<std::uint32_t>(body_size));
  sealer_->seal_append(out, scratch_);
  return {};
}

Result<Bytes> MessageWriter::encode(ProtocolTag tag, ByteSpan payload) {
  Bytes out;
  WEFT_TRY_VOID(append(out, tag, payload));
  return out;
}

}  // namespace weft::mesh
