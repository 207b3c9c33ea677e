#pragma once
// A Python pickle reader that only ever builds data. torch.save writes a
// state dict as a pickle whose objects are rebuilt by calling globals
// (collections.OrderedDict, torch._utils._rebuild_tensor_v2, ...); Python's
// unpickler would call whatever global the file names, which is how a
// checkpoint runs code. Here a resolver decides which globals exist at all
// and what "calling" one produces, so a file can describe data and nothing
// else. Every length is checked against the bytes left and the number of
// values, stack entries and memo slots is capped, and nothing is copied or
// hashed twice (a foreign global refers to its names instead of joining
// them; dict keys are interned once per value), so a hostile file costs at
// most a bounded multiple of its own size in memory and time: Stats counts it.
#include <ATen/core/Tensor.h>

#include <cstddef>
#include <cstdint>
#include <deque>
#include <memory>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

namespace reskit::io {

// One unpickled object. Values live in their Unpickler's arena and refer to
// each other by pointer: shared references (memo) stay shared, cycles cost
// nothing, and nothing is freed recursively.
struct PickleValue {
  enum class Kind : uint8_t {
    None, Bool, Int, BigInt, Float, String, Bytes, Tuple, List, Dict, Global, Tensor, Storage,
    // A global the resolver does not know, or what "calling" one made: a
    // placeholder that is never called or filled in. It lets a checkpoint
    // carry foreign objects beside its tensors (mmengine's message_hub, an
    // argparse.Namespace of arguments, numpy scalars) as long as the state
    // dict itself holds none.
    Object
  };
  Kind kind = Kind::None;
  bool boolean = false;
  int64_t integer = 0;
  double number = 0.0;
  // String and Bytes: the bytes (strings are UTF-8 as pickled); BigInt: its
  // little-endian two's complement bytes; Global (an accepted, short name):
  // "module.name".
  std::string text;
  // Tuple and List: the elements; Dict: key, value, key, value, ... in
  // insertion order; Object: its module and name strings, or for what a call
  // of one made, the called Object.
  std::vector<PickleValue*> items;
  // Tensor: the tensor; Storage: a 1-D tensor over the whole storage.
  at::Tensor tensor;

  bool is(Kind k) const { return kind == k; }
  size_t dict_size() const { return items.size() / 2; }
  // The value stored under a string key of a Dict, or nullptr.
  const PickleValue* find(const std::string& key) const;
  // Global and Object: "module.name" for messages, cut to `limit` characters.
  std::string global_name(size_t limit = 200) const;

 private:
  friend class Unpickler;
  // Dict only: position of each key in `items` by its interned identity, so
  // that SETITEM replaces like Python does without a scan or a string copy.
  std::unique_ptr<std::unordered_map<uint64_t, size_t>> index_;
  // String and Int keys: their identity once interned (0: not yet).
  uint64_t key_id_ = 0;
};

// "a list", "an int", ...: for messages.
std::string describe_kind(PickleValue::Kind kind);

class Unpickler;

// What the globals of a pickle mean. Nothing outside accepts() can appear.
class PickleResolver {
 public:
  virtual ~PickleResolver() = default;
  virtual bool accepts(const std::string& module, const std::string& name) const = 0;
  // REDUCE and NEWOBJ: `global` ("module.name", already accepted) applied to
  // the argument tuple. May return an existing value.
  virtual PickleValue* call(Unpickler& u, const std::string& global, const PickleValue& args) = 0;
  // BINPERSID: the object a persistent id stands for.
  virtual PickleValue* persistent_load(Unpickler& u, const PickleValue& pid) = 0;
};

class Unpickler {
 public:
  // Every error is a reskit::Error "<context>: <what>".
  Unpickler(std::string context, PickleResolver& resolver);

  // Reads one pickle starting at data[begin] up to its STOP and returns the
  // object; *end is set to the byte after STOP. Values stay valid while this
  // Unpickler lives, across several load() calls (each pickle gets a fresh
  // memo, as consecutive pickle.load calls do).
  const PickleValue& load(const char* data, size_t size, size_t begin, size_t* end);

  // A new value in the arena (for resolvers).
  PickleValue* make(PickleValue::Kind kind);

  // What reading has cost so far, in units a test can bound by the file's
  // size (counted, not timed).
  struct Stats {
    size_t values = 0;        // made in the arena
    size_t bytes_copied = 0;  // into strings
    size_t bytes_hashed = 0;  // by key interning (hashed or compared)
  };
  const Stats& stats() const { return stats_; }
  [[noreturn]] void fail(const std::string& what) const;
  const std::string& context() const { return context_; }

  // Caps that bound memory to a small multiple of the pickle's size.
  static constexpr size_t kMaxValues = size_t(1) << 22;
  static constexpr size_t kMaxStack = size_t(1) << 22;
  static constexpr size_t kMaxMemo = size_t(1) << 22;

 private:
  class Cursor;
  void step(Cursor& in, uint8_t op);
  PickleValue* pop(const char* op);
  PickleValue* top(const char* op);
  void push(PickleValue* v);
  size_t pop_mark(const char* op);
  PickleValue* memo_get(uint64_t index);
  void memo_put(uint64_t index, PickleValue* v);
  PickleValue* make_int(int64_t v);
  PickleValue* make_text(PickleValue::Kind kind, const char* data, size_t n);
  void set_item(PickleValue* dict, PickleValue* key, PickleValue* value);
  uint64_t key_id(PickleValue* key);
  PickleValue* make_global(PickleValue* module, PickleValue* name);
  [[noreturn]] void corrupted(const std::string& what) const;

  std::string context_;
  PickleResolver& resolver_;
  std::deque<PickleValue> arena_;
  PickleValue* none_;
  PickleValue* true_;
  PickleValue* false_;
  std::vector<PickleValue*> small_ints_;  // 0..255, shared: BININT1 is everywhere
  std::vector<PickleValue*> stack_;
  std::vector<size_t> marks_;
  std::unordered_map<uint64_t, PickleValue*> memo_;
  // Interned string keys: content -> identity. The views point into arena
  // values, which never move.
  std::unordered_map<std::string_view, uint64_t> interned_;
  std::unordered_map<int64_t, uint64_t> interned_ints_;
  uint64_t next_key_id_ = 0;
  Stats stats_;
  size_t op_pos_ = 0;  // where the current opcode starts, for messages
  bool stopped_ = false;
};

// The globals a PyTorch state dict needs and how torch rebuilds tensors from
// them: collections.OrderedDict, torch._utils._rebuild_tensor_v2 /
// _rebuild_tensor / _rebuild_parameter, torch.Size,
// torch.jit._pickle.restore_type_tag (C++ torch::pickle_save) and the typed
// storage classes (torch.FloatStorage, ...) named in persistent ids
// ('storage', type, key, location, numel[, view_metadata]). Where the
// storage bytes come from is up to the subclass.
class TorchResolver : public PickleResolver {
 public:
  bool accepts(const std::string& module, const std::string& name) const override;
  PickleValue* call(Unpickler& u, const std::string& global, const PickleValue& args) override;
  PickleValue* persistent_load(Unpickler& u, const PickleValue& pid) override;

  // The dtype of a torch.<X>Storage global, or Undefined.
  static at::ScalarType storage_dtype(const std::string& global);

 protected:
  // Storage `key` as a 1-D tensor of exactly `numel` (>= 0) elements.
  virtual at::Tensor load_storage(Unpickler& u, const std::string& key, at::ScalarType dtype,
                                  int64_t numel) = 0;

 private:
  PickleValue* rebuild_tensor(Unpickler& u, const PickleValue& args, size_t min_args, size_t max_args);
  std::unordered_map<std::string, PickleValue*> storages_;
};

}  // namespace reskit::io
