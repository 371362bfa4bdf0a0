#pragma once
// Typed gob decoding without Value trees, for the hot messages (issue 19: at 1,000 peers the
// generic decoder's trees dominated the simulation). A typed decoder walks a RawMessage from
// Decoder::next_raw() when the stream's definitions have exactly the shape it knows (field names,
// order and types), and gives up (nullopt) on anything else: another shape, or any input the
// generic decoder would refuse. The caller then runs the generic decoder, so what is accepted,
// what it decodes to and every error stay the generic decoder's. Node counting mirrors
// Decoder::decode_value, so the node budget fails the same messages.
#include <cstddef>
#include <cstdint>
#include <span>
#include <string_view>

#include "weft/base/bytes.hpp"
#include "weft/mesh/gob.hpp"

namespace weft::gob {

/// A struct field a typed decoder expects. `type_id` is a builtin id, or kUserType for a field of
/// a user-defined type (a slice, map or struct), whose definition the caller checks itself.
struct FieldSpec {
  static constexpr int kUserType = 0;
  std::string_view name;
  int type_id;
};

/// True when `wt` is a struct whose fields are exactly `spec`.
inline bool has_shape(const Decoder::WireType* wt, std::span<const FieldSpec> spec) {
  if (wt == nullptr || wt->kind != Kind::Struct || wt->fields.size() != spec.size()) return false;
  for (std::size_t i = 0; i < spec.size(); ++i) {
    if (wt->fields[i].first != spec[i].name) return false;
    if (spec[i].type_id == FieldSpec::kUserType ? wt->fields[i].second <= builtin::kString
                                                : wt->fields[i].second != spec[i].type_id) {
      return false;
    }
  }
  return true;
}

/// True when `wt` is a slice (not an array) whose elements have type id `elem`, or any elements
/// when `elem` is 0.
inline bool is_slice(const Decoder::WireType* wt, int elem = 0) {
  return wt != nullptr && wt->kind == Kind::Slice && !wt->is_array && (elem == 0 || wt->elem == elem);
}

/// The type id of field `i` of a struct definition that has_shape accepted.
inline int field_type(const Decoder::WireType& wt, std::size_t i) { return wt.fields[i].second; }

/// A field value read by scan_struct: `u` for uint and bool, `i` for int, `b` for bytes and
/// string. For a user-typed field, `r` is the message reader positioned at the value, which the
/// callback must consume.
struct FieldValue {
  std::uint64_t u = 0;
  std::int64_t i = 0;
  ByteSpan b;
  ByteReader* r = nullptr;
};

/// Counts one decoded node against the budget, as Decoder::decode_value does.
inline bool count_node(std::size_t& nodes, std::size_t max_nodes) { return ++nodes <= max_nodes; }

/// Walks a struct body as Decoder::decode_struct does, counting nodes as decode_value does;
/// false wherever the generic decoder would fail (and wherever `on_field` says so).
template <class OnField>
bool scan_struct(ByteReader& r, std::span<const FieldSpec> spec, std::size_t& nodes, std::size_t max_nodes,
                 OnField&& on_field) {
  std::uint64_t field = 0;
  for (;;) {
    auto delta = get_uint(r);
    if (!delta) return false;
    if (*delta == 0) return true;
    if (*delta > spec.size() || field + *delta > spec.size()) return false;
    field += *delta;
    if (!count_node(nodes, max_nodes)) return false;
    FieldValue v;
    switch (spec[field - 1].type_id) {
      case builtin::kBytes:
      case builtin::kString: {
        auto n = get_uint(r);
        if (!n || *n > r.remaining()) return false;
        v.b = *r.take(static_cast<std::size_t>(*n));
        break;
      }
      case builtin::kInt: {
        auto i = get_int(r);
        if (!i) return false;
        v.i = *i;
        break;
      }
      case builtin::kUint:
      case builtin::kBool: {
        auto u = get_uint(r);
        if (!u) return false;
        if (spec[field - 1].type_id == builtin::kBool && *u > 1) return false;
        v.u = *u;
        break;
      }
      case FieldSpec::kUserType: v.r = &r; break;
      default: return false;
    }
    if (!on_field(field - 1, v)) return false;
  }
}

/// Reads a slice or map element count as decode_value does (a count above what the bytes left
/// could hold is refused: `min_bytes_per_item` is 1 for slices, 2 for maps).
inline bool read_count(ByteReader& r, std::size_t min_bytes_per_item, std::uint64_t& n) {
  auto c = get_uint(r);
  if (!c || *c > r.remaining() / min_bytes_per_item) return false;
  n = *c;
  return true;
}

/// Writes a struct body field by field, as Encoder::encode_struct_body does: the caller skips zero
/// fields (Go omits them) and calls end() once.
class StructWriter {
 public:
  explicit StructWriter(Bytes& out) : out_(out) {}
  /// Starts field `index` (0-based, ascending).
  Bytes& field(std::size_t index) {
    put_uint(out_, index + 1 - prev_);
    prev_ = index + 1;
    return out_;
  }
  void end() { put_uint(out_, 0); }

 private:
  Bytes& out_;
  std::size_t prev_ = 0;
};

}  // namespace weft::gob
