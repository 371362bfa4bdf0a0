#pragma once
// Go encoding/gob, the subset Weave uses (spec §1.4): uint, int, bool, string, []byte, structs
// (nested, pointer-flattened, zero fields omitted), slices, arrays, maps (string, uint and struct
// keys), type definitions, and one stream per message.
//
// Wire primitives
//   uint   : v < 128 -> 1 byte; else 1 byte = -(n) (0xFF = 1 ... 0xF8 = 8) + n big-endian bytes
//   int    : zig-zag: i >= 0 ? i<<1 : (^i<<1)|1, then as uint
//   message: <uint byte count of the rest> <int type id> <body>
//            id < 0 -> body is the wireType defining type -id; id > 0 -> a value of that type
//   value  : struct -> (<uint field delta> <field value>)* 00 ; other types -> 00 <value>
//
// Decoding is driven entirely by the type definitions on the wire and yields a dynamic Value tree
// (struct fields keyed by *name*, which is how Go binds them). Encoding takes a C++ Type
// description plus a Value and emits definitions for every type the stream has not seen yet, outer
// type first, then its components depth-first, exactly as Go does. The decoder never throws and
// never allocates more than the input can justify: counts are checked against the bytes left, and a
// node budget bounds the tree.
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "weft/base/bytes.hpp"
#include "weft/base/result.hpp"

namespace weft::gob {

enum class Kind : std::uint8_t { Bool, Int, Uint, String, Bytes, Struct, Slice, Map };

/// Predefined type ids of the basic types (fields of user types refer to them).
namespace builtin {
inline constexpr int kBool = 1, kInt = 2, kUint = 3, kBytes = 5, kString = 6;
}
std::string_view kind_name(Kind k);

struct Type;
using TypePtr = std::shared_ptr<const Type>;

struct Field {
  std::string name;
  TypePtr type;
};

/// The C++ side's description of a Go type, used for encoding.
struct Type {
  Kind kind = Kind::Uint;
  std::string name;           ///< Go type name sent in the definition ("" for unnamed composites)
  std::vector<Field> fields;  ///< Struct
  TypePtr key;                ///< Map
  TypePtr elem;               ///< Slice, Map
};

TypePtr bool_type();
TypePtr int_type();
TypePtr uint_type();
TypePtr string_type();
TypePtr bytes_type();
TypePtr struct_type(std::string name, std::vector<Field> fields);
TypePtr slice_type(std::string name, TypePtr elem);
TypePtr map_type(std::string name, TypePtr key, TypePtr elem);

/// A dynamic gob value. Struct values list the fields that are present, in field order; an absent
/// field means Go's zero value (or a nil pointer/map).
class Value {
 public:
  Kind kind = Kind::Uint;
  std::uint64_t u = 0;  ///< Uint, Bool (0/1)
  std::int64_t i = 0;   ///< Int
  std::string s;        ///< String and Bytes
  std::vector<std::pair<std::string, Value>> fields;  ///< Struct
  std::vector<Value> elems;                           ///< Slice
  std::vector<std::pair<Value, Value>> entries;       ///< Map

  static Value of_uint(std::uint64_t v);
  static Value of_int(std::int64_t v);
  static Value of_bool(bool v);
  static Value of_string(std::string v);
  static Value of_bytes(ByteSpan v);
  static Value structure();
  static Value slice(std::vector<Value> elems = {});
  static Value map();

  /// Builder: appends a struct field (encode side; order must follow the Type's fields).
  Value& set(std::string name, Value v);
  Value& add_entry(Value k, Value v);

  const Value* field(std::string_view name) const;
  bool has(std::string_view name) const { return field(name) != nullptr; }
  /// Typed field access: absent -> zero value; present with another kind -> error (like Go's
  /// "type mismatch" on decode).
  Result<std::uint64_t> get_uint(std::string_view name) const;
  Result<std::int64_t> get_int(std::string_view name) const;
  Result<bool> get_bool(std::string_view name) const;
  Result<std::string> get_string(std::string_view name) const;
  Result<Bytes> get_bytes(std::string_view name) const;
  Bytes bytes() const { return Bytes(s.begin(), s.end()); }

  bool operator==(const Value&) const = default;
};

/// Writes one gob stream. One Encoder = one stream: definitions are sent once per Encoder.
class Encoder {
 public:
  explicit Encoder(Bytes& out) : out_(out) {}
  /// Tests: the ids to give new types, in the order their definitions are sent (Go allocates ids
  /// process-wide, so a captured stream may use any ids). Afterwards ids continue from the max+1.
  void assign_ids(std::vector<int> ids) { forced_ids_ = std::move(ids); }
  /// Appends the definitions of any types not yet sent, then the value message.
  Result<void> encode(const TypePtr& type, const Value& v);
  /// As encode(), with the value's body (after the singleton marker for a non-struct type)
  /// written by `write_body` instead of from a Value: for typed encoders of hot messages, which
  /// must write exactly what encode() would (their tests compare the two).
  Result<void> encode_with(const TypePtr& type, const std::function<Result<void>(Bytes&)>& write_body);

 private:
  int id_of(const Type* t) const;
  void collect_new_types(const TypePtr& t, std::vector<const Type*>& order);
  Result<void> encode_value(Bytes& out, const Type& t, const Value& v, int depth);
  Result<void> encode_struct_body(Bytes& out, const Type& t, const Value& v, int depth);
  void encode_definition(Bytes& out, const Type& t);

  Bytes& out_;
  std::map<const Type*, int> sent_;
  std::vector<TypePtr> keep_alive_;
  std::vector<int> forced_ids_;
  std::size_t forced_next_ = 0;
  int next_id_ = 65;
};

struct DecodeLimits {
  std::size_t max_nodes = 1u << 20;  ///< values materialised per decoded message
  int max_depth = 64;
};

/// Reads one gob stream (definitions + values).
class Decoder {
 public:
  explicit Decoder(ByteSpan in, DecodeLimits limits = {});
  /// The next value. nullopt at a clean end of input. Definitions are consumed on the way.
  Result<std::optional<Value>> next();
  std::size_t remaining() const { return in_.remaining(); }

  struct WireType {
    Kind kind = Kind::Struct;
    bool is_array = false;
    std::uint64_t array_len = 0;
    std::string name;
    std::vector<std::pair<std::string, int>> fields;
    int key = 0;
    int elem = 0;
  };

  /// A value message as next() finds it, not decoded yet: definitions before it are consumed, and
  /// for a non-struct value the singleton marker is read. `type` is null for a basic type.
  /// Typed decoders walk `body` themselves (with get_uint) and must then check it is empty.
  struct RawMessage {
    int type_id = 0;
    const WireType* type = nullptr;
    ByteReader body{ByteSpan{}};
  };
  Result<std::optional<RawMessage>> next_raw();
  /// Decodes a message from next_raw() exactly as next() would have.
  Result<Value> decode_raw(RawMessage& m);
  /// The definition of a type id received so far (or a bootstrap one); nullptr if unknown.
  const WireType* lookup(int id) const;
  const DecodeLimits& limits() const { return limits_; }

 private:
  Result<Value> decode_value(ByteReader& r, int type_id, int depth);
  Result<Value> decode_struct(ByteReader& r, const WireType& wt, int depth);
  Result<void> add_definition(int id, const Value& wire);

  ByteReader in_;
  DecodeLimits limits_;
  std::map<int, WireType> types_;
  std::size_t nodes_ = 0;
};

/// Decodes every value of a stream.
Result<std::vector<Value>> decode_all(ByteSpan in, DecodeLimits limits = {});

// Wire primitives, exposed for codecs that frame gob pieces themselves and for tests.
void put_uint(Bytes& out, std::uint64_t v);
void put_int(Bytes& out, std::int64_t v);
void put_string(Bytes& out, std::string_view s);  ///< also []byte
std::optional<std::uint64_t> get_uint(ByteReader& r);
std::optional<std::int64_t> get_int(ByteReader& r);


}  // namespace weft::gob
