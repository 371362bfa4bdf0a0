#include "weft/mesh/gob.hpp"

#include <algorithm>

namespace weft::gob {
namespace {

// Predefined gob type ids.
constexpr int kBoolId = builtin::kBool, kIntId = builtin::kInt, kUintId = builtin::kUint, kFloatId = 4,
              kBytesId = builtin::kBytes, kStringId = builtin::kString, kComplexId = 7, kInterfaceId = 8;
constexpr int kWireTypeId = 16, kArrayTypeId = 17, kCommonTypeId = 18, kSliceTypeId = 19,
              kStructTypeId = 20, kFieldTypeId = 21, kFieldTypeSliceId = 22, kMapTypeId = 23;
constexpr int kFirstUserId = 65;

TypePtr make_basic(Kind k) {
  auto t = std::make_shared<Type>();
  t->kind = k;
  return t;
}

int builtin_id(Kind k) {
  switch (k) {
    case Kind::Bool: return kBoolId;
    case Kind::Int: return kIntId;
    case Kind::Uint: return kUintId;
    case Kind::Bytes: return kBytesId;
    case Kind::String: return kStringId;
    default: return 0;
  }
}

bool is_builtin(const Type& t) { return builtin_id(t.kind) != 0; }

/// Go omits a struct field holding its type's zero value. Structs (nested, or behind a non-nil
/// pointer) and non-nil maps are sent even when empty: the caller expresses nil by leaving the
/// field out.
bool is_omitted_zero(const Value& v) {
  switch (v.kind) {
    case Kind::Bool:
    case Kind::Uint: return v.u == 0;
    case Kind::Int: return v.i == 0;
    case Kind::String:
    case Kind::Bytes: return v.s.empty();
    case Kind::Slice: return v.elems.empty();
    case Kind::Struct:
    case Kind::Map: return false;
  }
  return false;
}

// The bootstrap wire types that describe type definitions themselves (Go's wireType & co.).
const std::map<int, Decoder::WireType>& bootstrap_types() {
  static const std::map<int, Decoder::WireType> m = [] {
    std::map<int, Decoder::WireType> b;
    auto st = [](std::vector<std::pair<std::string, int>> f) {
      Decoder::WireType w;
      w.kind = Kind::Struct;
      w.fields = std::move(f);
      return w;
    };
    b[kWireTypeId] = st({{"ArrayT", kArrayTypeId}, {"SliceT", kSliceTypeId}, {"StructT", kStructTypeId},
                         {"MapT", kMapTypeId}});
    b[kArrayTypeId] = st({{"CommonType", kCommonTypeId}, {"Elem", kIntId}, {"Len", kIntId}});
    b[kCommonTypeId] = st({{"Name", kStringId}, {"Id", kIntId}});
    b[kSliceTypeId] = st({{"CommonType", kCommonTypeId}, {"Elem", kIntId}});
    b[kStructTypeId] = st({{"CommonType", kCommonTypeId}, {"Field", kFieldTypeSliceId}});
    b[kFieldTypeId] = st({{"Name", kStringId}, {"Id", kIntId}});
    Decoder::WireType fs;
    fs.kind = Kind::Slice;
    fs.elem = kFieldTypeId;
    b[kFieldTypeSliceId] = fs;
    b[kMapTypeId] = st({{"CommonType", kCommonTypeId}, {"Key", kIntId}, {"Elem", kIntId}});
    return b;
  }();
  return m;
}

}  // namespace

std::string_view kind_name(Kind k) {
  switch (k) {
    case Kind::Bool: return "bool";
    case Kind::Int: return "int";
    case Kind::Uint: return "uint";
    case Kind::String: return "string";
    case Kind::Bytes: return "[]byte";
    case Kind::Struct: return "struct";
    case Kind::Slice: return "slice";
    case Kind::Map: return "map";
  }
  return "?";
}

TypePtr bool_type() { static const TypePtr t = make_basic(Kind::Bool); return t; }
TypePtr int_type() { static const TypePtr t = make_basic(Kind::Int); return t; }
TypePtr uint_type() { static const TypePtr t = make_basic(Kind::Uint); return t; }
TypePtr string_type() { static const TypePtr t = make_basic(Kind::String); return t; }
TypePtr bytes_type() { static const TypePtr t = make_basic(Kind::Bytes); return t; }

TypePtr struct_type(std::string name, std::vector<Field> fields) {
  auto t = std::make_shared<Type>();
  t->kind = Kind::Struct;
  t->name = std::move(name);
  t->fields = std::move(fields);
  return t;
}

TypePtr slice_type(std::string name, TypePtr elem) {
  auto t = std::make_shared<Type>();
  t->kind = Kind::Slice;
  t->name = std::move(name);
  t->elem = std::move(elem);
  return t;
}

TypePtr map_type(std::string name, TypePtr key, TypePtr elem) {
  auto t = std::make_shared<Type>();
  t->kind = Kind::Map;
  t->name = std::move(name);
  t->key = std::move(key);
  t->elem = std::move(elem);
  return t;
}

// ---- Value

Value Value::of_uint(std::uint64_t v) { Value x; x.kind = Kind::Uint; x.u = v; return x; }
Value Value::of_int(std::int64_t v) { Value x; x.kind = Kind::Int; x.i = v; return x; }
Value Value::of_bool(bool v) { Value x; x.kind = Kind::Bool; x.u = v ? 1 : 0; return x; }
Value Value::of_string(std::string v) { Value x; x.kind = Kind::String; x.s = std::move(v); return x; }
Value Value::of_bytes(ByteSpan v) { Value x; x.kind = Kind::Bytes; x.s.assign(v.begin(), v.end()); return x; }
Value Value::structure() { Value x; x.kind = Kind::Struct; return x; }
Value Value::slice(std::vector<Value> elems) { Value x; x.kind = Kind::Slice; x.elems = std::move(elems); return x; }
Value Value::map() { Value x; x.kind = Kind::Map; return x; }

Value& Value::set(std::string name, Value v) {
  fields.emplace_back(std::move(name), std::move(v));
  return *this;
}

Value& Value::add_entry(Value k, Value v) {
  entries.emplace_back(std::move(k), std::move(v));
  return *this;
}

const Value* Value::field(std::string_view name) const {
  for (auto& [n, v] : fields) {
    if (n == name) return &v;
  }
  return nullptr;
}

namespace {
Error mismatch(std::string_view name, Kind want, Kind got) {
  return make_error("gob: field {} is {}, want {}", name, kind_name(got), kind_name(want));
}
}  // namespace

Result<std::uint64_t> Value::get_uint(std::string_view name) const {
  auto* f = field(name);
  if (!f) return std::uint64_t{0};
  if (f->kind != Kind::Uint) return mismatch(name, Kind::Uint, f->kind);
  return f->u;
}

Result<std::int64_t> Value::get_int(std::string_view name) const {
  auto* f = field(name);
  if (!f) return std::int64_t{0};
  if (f->kind != Kind::Int) return mismatch(name, Kind::Int, f->kind);
  return f->i;
}

Result<bool> Value::get_bool(std::string_view name) const {
  auto* f = field(name);
  if (!f) return false;
  if (f->kind != Kind::Bool) return mismatch(name, Kind::Bool, f->kind);
  return f->u != 0;
}

Result<std::string> Value::get_string(std::string_view name) const {
  auto* f = field(name);
  if (!f) return std::string{};
  if (f->kind != Kind::String) return mismatch(name, Kind::String, f->kind);
  return f->s;
}

Result<Bytes> Value::get_bytes(std::string_view name) const {
  auto* f = field(name);
  if (!f) return Bytes{};
  if (f->kind != Kind::Bytes) return mismatch(name, Kind::Bytes, f->kind);
  return f->bytes();
}

// ---- primitives

void put_uint(Bytes& out, std::uint64_t v) {
  if (v < 128) {
    out.push_back(static_cast<std::uint8_t>(v));
    return;
  }
  std::uint8_t buf[8];
  int n = 0;
  while (v != 0) {
    buf[7 - n] = static_cast<std::uint8_t>(v);
    v >>= 8;
    ++n;
  }
  out.push_back(static_cast<std::uint8_t>(256 - n));
  out.insert(out.end(), buf + 8 - n, buf + 8);
}

void put_string(Bytes& out, std::string_view s) {
  put_uint(out, s.size());
  out.insert(out.end(), s.begin(), s.end());
}

void put_int(Bytes& out, std::int64_t v) {
  std::uint64_t u = v < 0 ? (~static_cast<std::uint64_t>(v) << 1) | 1 : static_cast<std::uint64_t>(v) << 1;
  put_uint(out, u);
}

std::optional<std::uint64_t> get_uint(ByteReader& r) {
  auto b = r.u8();
  if (!b) return std::nullopt;
  if (*b < 128) return *b;
  int n = 256 - *b;
  if (n > 8) return std::nullopt;
  auto bytes = r.take(static_cast<std::size_t>(n));
  if (!bytes) return std::nullopt;
  std::uint64_t v = 0;
  for (auto c : *bytes) v = (v << 8) | c;
  return v;
}

std::optional<std::int64_t> get_int(ByteReader& r) {
  auto u = get_uint(r);
  if (!u) return std::nullopt;
  if (*u & 1) return static_cast<std::int64_t>(~(*u >> 1));
  return static_cast<std::int64_t>(*u >> 1);
}

// ---- Encoder

int Encoder::id_of(const Type* t) const {
  if (int b = builtin_id(t->kind)) return b;
  auto it = sent_.find(t);
  return it == sent_.end() ? 0 : it->second;
}

void Encoder::collect_new_types(const TypePtr& t, std::vector<const Type*>& order) {
  if (!t || is_builtin(*t) || sent_.count(t.get())) return;
  int id;
  if (forced_next_ < forced_ids_.size()) {
    id = forced_ids_[forced_next_++];
    next_id_ = std::max(next_id_, id + 1);
  } else {
    id = next_id_++;
  }
  sent_[t.get()] = id;
  keep_alive_.push_back(t);
  order.push_back(t.get());
  switch (t->kind) {
    case Kind::Struct:
      for (auto& f : t->fields) collect_new_types(f.type, order);
      break;
    case Kind::Slice: collect_new_types(t->elem, order); break;
    case Kind::Map:
      collect_new_types(t->key, order);
      collect_new_types(t->elem, order);
      break;
    default: break;
  }
}

void Encoder::encode_definition(Bytes& out, const Type& t) {
  // wireType{ArrayT 1, SliceT 2, StructT 3, MapT 4}; every xxxType starts with CommonType{Name, Id}.
  auto common = [&](Bytes& b) {
    put_uint(b, 1);  // CommonType is field 1
    if (!t.name.empty()) {
      put_uint(b, 1);
      put_string(b, t.name);
      put_uint(b, 1);
    } else {
      put_uint(b, 2);
    }
    put_int(b, id_of(&t));
    put_uint(b, 0);
  };
  Bytes body;
  put_int(body, -id_of(&t));
  switch (t.kind) {
    case Kind::Struct: {
      put_uint(body, 3);
      common(body);
      if (!t.fields.empty()) {
        put_uint(body, 1);
        put_uint(body, t.fields.size());
        for (auto& f : t.fields) {
          put_uint(body, 1);
          put_string(body, f.name);
          put_uint(body, 1);
          put_int(body, id_of(f.type.get()));
          put_uint(body, 0);
        }
      }
      put_uint(body, 0);
      break;
    }
    case Kind::Slice:
      put_uint(body, 2);
      common(body);
      put_uint(body, 1);
      put_int(body, id_of(t.elem.get()));
      put_uint(body, 0);
      break;
    case Kind::Map:
      put_uint(body, 4);
      common(body);
      put_uint(body, 1);
      put_int(body, id_of(t.key.get()));
      put_uint(body, 1);
      put_int(body, id_of(t.elem.get()));
      put_uint(body, 0);
      break;
    default: break;
  }
  put_uint(body, 0);  // end of wireType
  put_uint(out, body.size());
  out.insert(out.end(), body.begin(), body.end());
}

Result<void> Encoder::encode_struct_body(Bytes& out, const Type& t, const Value& v, int depth) {
  if (v.kind != Kind::Struct) return make_error("gob encode: {} value for struct {}", kind_name(v.kind), t.name);
  std::size_t prev = 0, next_field = 0;
  for (auto& [name, fv] : v.fields) {
    std::size_t idx = next_field;
    while (idx < t.fields.size() && t.fields[idx].name != name) ++idx;
    if (idx == t.fields.size()) return make_error("gob encode: struct {} has no field {} (or out of order)", t.name, name);
    next_field = idx + 1;
    if (is_omitted_zero(fv)) continue;
    put_uint(out, idx + 1 - prev);
    prev = idx + 1;
    WEFT_TRY_VOID(encode_value(out, *t.fields[idx].type, fv, depth + 1));
  }
  put_uint(out, 0);
  return {};
}

Result<void> Encoder::encode_value(Bytes& out, const Type& t, const Value& v, int depth) {
  if (depth > 64) return make_error("gob encode: nesting too deep");
  if (t.kind == Kind::Struct) return encode_struct_body(out, t, v, depth);
  if (v.kind != t.kind) return make_error("gob encode: {} value for {} type", kind_name(v.kind), kind_name(t.kind));
  switch (t.kind) {
    case Kind::Bool:
    case Kind::Uint: put_uint(out, v.u); break;
    case Kind::Int: put_int(out, v.i); break;
    case Kind::String:
    case Kind::Bytes: put_string(out, v.s); break;
    case Kind::Slice:
      put_uint(out, v.elems.size());
      for (auto& e : v.elems) WEFT_TRY_VOID(encode_value(out, *t.elem, e, depth + 1));
      break;
    case Kind::Map:
      put_uint(out, v.entries.size());
      for (auto& [k, e] : v.entries) {
        WEFT_TRY_VOID(encode_value(out, *t.key, k, depth + 1));
        WEFT_TRY_VOID(encode_value(out, *t.elem, e, depth + 1));
      }
      break;
    case Kind::Struct: break;
  }
  return {};
}

Result<void> Encoder::encode(const TypePtr& type, const Value& v) {
  return encode_with(type, [&](Bytes& body) { return encode_value(body, *type, v, 0); });
}

Result<void> Encoder::encode_with(const TypePtr& type, const std::function<Result<void>(Bytes&)>& write_body) {
  std::vector<const Type*> fresh;
  collect_new_types(type, fresh);
  Bytes defs;
  for (auto* t : fresh) encode_definition(defs, *t);
  Bytes body;
  put_int(body, id_of(type.get()));
  if (type->kind != Kind::Struct) put_uint(body, 0);  // singleton marker
  WEFT_TRY_VOID(write_body(body));
  out_.insert(out_.end(), defs.begin(), defs.end());
  put_uint(out_, body.size());
  out_.insert(out_.end(), body.begin(), body.end());
  return {};
}

// ---- Decoder

Decoder::Decoder(ByteSpan in, DecodeLimits limits) : in_(in), limits_(limits) {}

const Decoder::WireType* Decoder::lookup(int id) const {
  if (id >= kWireTypeId && id <= kMapTypeId) {
    auto& b = bootstrap_types();
    auto it = b.find(id);
    return it == b.end() ? nullptr : &it->second;
  }
  auto it = types_.find(id);
  return it == types_.end() ? nullptr : &it->second;
}

Result<Value> Decoder::decode_struct(ByteReader& r, const WireType& wt, int depth) {
  Value v = Value::structure();
  v.fields.reserve(std::min<std::size_t>(wt.fields.size(), 16));  // one allocation per struct
  std::uint64_t field = 0;  // 1-based index of the last field read
  for (;;) {
    auto delta = get_uint(r);
    if (!delta) return make_error("gob: truncated struct");
    if (*delta == 0) break;
    if (*delta > wt.fields.size() || field + *delta > wt.fields.size()) {
      return make_error("gob: field number out of range in {}", wt.name.empty() ? "struct" : wt.name);
    }
    field += *delta;
    auto& [name, id] = wt.fields[field - 1];
    WEFT_TRY(fv, decode_value(r, id, depth + 1));
    v.fields.emplace_back(name, std::move(fv));
  }
  return v;
}

Result<Value> Decoder::decode_value(ByteReader& r, int type_id, int depth) {
  if (depth > limits_.max_depth) return make_error("gob: value nested too deep");
  if (++nodes_ > limits_.max_nodes) return make_error("gob: value too large (more than {} nodes)", limits_.max_nodes);
  switch (type_id) {
    case kBoolId: {
      auto u = get_uint(r);
      if (!u) return make_error("gob: truncated bool");
      if (*u > 1) return make_error("gob: invalid bool {}", *u);
      return Value::of_bool(*u != 0);
    }
    case kIntId: {
      auto i = get_int(r);
      if (!i) return make_error("gob: truncated int");
      return Value::of_int(*i);
    }
    case kUintId: {
      auto u = get_uint(r);
      if (!u) return make_error("gob: truncated uint");
      return Value::of_uint(*u);
    }
    case kBytesId:
    case kStringId: {
      auto n = get_uint(r);
      if (!n || *n > r.remaining()) return make_error("gob: truncated string");
      auto b = r.take(static_cast<std::size_t>(*n));
      Value v = type_id == kBytesId ? Value::of_bytes(*b) : Value::of_string(std::string(b->begin(), b->end()));
      return v;
    }
    case kFloatId:
    case kComplexId:
    case kInterfaceId: return make_error("gob: unsupported type id {}", type_id);
    default: break;
  }
  const WireType* wt = lookup(type_id);
  if (!wt) return make_error("gob: unknown type id {}", type_id);
  switch (wt->kind) {
    case Kind::Struct: return decode_struct(r, *wt, depth);
    case Kind::Slice: {
      auto n = get_uint(r);
      if (!n) return make_error("gob: truncated slice");
      // NB: every element takes at least one byte, so a count above the bytes left is a lie.
      if (*n > r.remaining()) return make_error("gob: slice length {} exceeds data", *n);
      if (wt->is_array && *n != wt->array_len) return make_error("gob: array length {} != {}", *n, wt->array_len);
      Value v = Value::slice();
      v.elems.reserve(static_cast<std::size_t>(*n));
      for (std::uint64_t k = 0; k < *n; ++k) {
        WEFT_TRY(e, decode_value(r, wt->elem, depth + 1));
        v.elems.push_back(std::move(e));
      }
      return v;
    }
    case Kind::Map: {
      auto n = get_uint(r);
      if (!n) return make_error("gob: truncated map");
      if (*n > r.remaining() / 2) return make_error("gob: map length {} exceeds data", *n);
      Value v = Value::map();
      v.entries.reserve(static_cast<std::size_t>(*n));
      for (std::uint64_t k = 0; k < *n; ++k) {
        WEFT_TRY(key, decode_value(r, wt->key, depth + 1));
        WEFT_TRY(e, decode_value(r, wt->elem, depth + 1));
        v.entries.emplace_back(std::move(key), std::move(e));
      }
      return v;
    }
    default: return make_error("gob: bad wire type for id {}", type_id);
  }
}

Result<void> Decoder::add_definition(int id, const Value& wire) {
  if (id < kFirstUserId) return make_error("gob: definition of reserved type id {}", id);
  if (types_.count(id)) return make_error("gob: duplicate definition of type id {}", id);
  if (types_.size() >= 1024) return make_error("gob: too many type definitions");
  auto common = [&](const Value& t) -> Result<std::string> {
    const Value* c = t.field("CommonType");
    if (!c) return std::string{};
    WEFT_TRY(name, c->get_string("Name"));
    WEFT_TRY(cid, c->get_int("Id"));
    if (cid != id) return make_error("gob: definition of id {} names id {}", id, cid);
    return name;
  };
  auto type_ref = [](std::int64_t ref) -> Result<int> {
    if (ref <= 0 || ref > (1 << 30)) return make_error("gob: bad type reference {}", ref);
    return static_cast<int>(ref);
  };
  WireType wt;
  if (wire.fields.size() != 1) return make_error("gob: definition of id {} has {} kinds", id, wire.fields.size());
  auto& [which, t] = wire.fields.front();
  WEFT_TRY(name, common(t));
  wt.name = name;
  if (which == "StructT") {
    wt.kind = Kind::Struct;
    if (auto* fs = t.field("Field")) {
      for (auto& f : fs->elems) {
        WEFT_TRY(fname, f.get_string("Name"));
        WEFT_TRY(fid, f.get_int("Id"));
        WEFT_TRY(ref, type_ref(fid));
        wt.fields.emplace_back(fname, ref);
      }
    }
  } else if (which == "SliceT" || which == "ArrayT") {
    wt.kind = Kind::Slice;
    WEFT_TRY(elem, t.get_int("Elem"));
    WEFT_TRY(ref, type_ref(elem));
    wt.elem = ref;
    if (which == "ArrayT") {
      WEFT_TRY(len, t.get_int("Len"));
      if (len < 0) return make_error("gob: negative array length");
      wt.is_array = true;
      wt.array_len = static_cast<std::uint64_t>(len);
    }
  } else if (which == "MapT") {
    wt.kind = Kind::Map;
    WEFT_TRY(key, t.get_int("Key"));
    WEFT_TRY(elem, t.get_int("Elem"));
    WEFT_TRY(kref, type_ref(key));
    WEFT_TRY(eref, type_ref(elem));
    wt.key = kref;
    wt.elem = eref;
  } else {
    return make_error("gob: unsupported definition kind {}", which);
  }
  types_.emplace(id, std::move(wt));
  return {};
}

Result<std::optional<Value>> Decoder::next() {
  WEFT_TRY(m, next_raw());
  if (!m) return std::optional<Value>{};
  WEFT_TRY(v, decode_raw(*m));
  return std::optional<Value>(std::move(v));
}

Result<Value> Decoder::decode_raw(RawMessage& m) {
  WEFT_TRY(v, decode_value(m.body, m.type_id, 0));
  if (!m.body.empty()) return make_error("gob: extra data in message");
  return v;
}

Result<std::optional<Decoder::RawMessage>> Decoder::next_raw() {
  for (;;) {
    if (in_.empty()) return std::optional<RawMessage>{};
    auto len = get_uint(in_);
    if (!len || *len == 0 || *len > in_.remaining()) return make_error("gob: bad message length");
    ByteReader msg(*in_.take(static_cast<std::size_t>(*len)));
    auto id = get_int(msg);
    if (!id) return make_error("gob: truncated type id");
    nodes_ = 0;
    if (*id < 0) {
      if (*id < -(1 << 30)) return make_error("gob: bad type id");
      WEFT_TRY(wire, decode_value(msg, kWireTypeId, 0));
      if (!msg.empty()) return make_error("gob: extra data after type definition");
      WEFT_TRY_VOID(add_definition(static_cast<int>(-*id), wire));
      continue;
    }
    if (*id == 0 || *id > (1 << 30)) return make_error("gob: bad type id {}", *id);
    int tid = static_cast<int>(*id);
    const WireType* wt = tid >= kFirstUserId ? lookup(tid) : nullptr;
    if (tid >= kFirstUserId && !wt) return make_error("gob: unknown type id {}", tid);
    if (!wt || wt->kind != Kind::Struct) {
      auto marker = get_uint(msg);
      if (!marker || *marker != 0) return make_error("gob: corrupted data: non-zero delta for singleton");
    }
    return std::optional<RawMessage>(RawMessage{tid, wt, msg});
  }
}

Result<std::vector<Value>> decode_all(ByteSpan in, DecodeLimits limits) {
  Decoder d(in, limits);
  std::vector<Value> out;
  for (;;) {
    WEFT_TRY(v, d.next());
    if (!v) return out;
    out.push_back(std::move(*v));
  }
}

}  // namespace weft::gob
