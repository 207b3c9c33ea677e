#include "reskit/io/pickle_reader.h"

#include <c10/util/Exception.h>

#include <cstdio>
#include <cstring>

#include "reskit/core/error.h"

namespace reskit::io {

using Kind = PickleValue::Kind;

// Keys are unique by content (SETITEM replaces), so the first match is the one.
const PickleValue* PickleValue::find(const std::string& key) const {
  if (kind != Kind::Dict) return nullptr;
  for (size_t i = 0; i + 1 < items.size(); i += 2)
    if (items[i]->is(Kind::String) && items[i]->text == key) return items[i + 1];
  return nullptr;
}

std::string PickleValue::global_name(size_t limit) const {
  if (kind == Kind::Object && items.size() == 1) return items[0]->global_name(limit);  // what a call made
  std::string name = text;
  if (kind == Kind::Object && items.size() == 2)
    name = items[0]->text.substr(0, limit) + "." + items[1]->text.substr(0, limit);
  return name.size() > limit ? name.substr(0, limit) + "..." : name;
}

std::string describe_kind(Kind kind) {
  switch (kind) {
    case Kind::None: return "None";
    case Kind::Bool: return "a bool";
    case Kind::Int: return "an int";
    case Kind::BigInt: return "an int";
    case Kind::Float: return "a float";
    case Kind::String: return "a str";
    case Kind::Bytes: return "a bytes object";
    case Kind::Tuple: return "a tuple";
    case Kind::List: return "a list";
    case Kind::Dict: return "a dict";
    case Kind::Global: return "a class or function";
    case Kind::Tensor: return "a tensor";
    case Kind::Storage: return "a storage";
    case Kind::Object: return "an object reskit does not read";
  }
  return "an object";
}

// ---- reading the byte stream ------------------------------------------------

class Unpickler::Cursor {
 public:
  Cursor(const Unpickler& owner, const char* data, size_t size, size_t pos)
      : owner_(owner), data_(reinterpret_cast<const uint8_t*>(data)), size_(size), pos_(pos) {}

  size_t pos() const { return pos_; }
  // n bytes, or the "truncated" error: every length in the file goes through here.
  const uint8_t* take(uint64_t n) {
    if (n > size_ - pos_) owner_.fail("file is truncated");
    const uint8_t* p = data_ + pos_;
    pos_ += static_cast<size_t>(n);
    return p;
  }
  uint8_t u8() { return *take(1); }
  uint64_t le(int bytes) {
    const uint8_t* p = take(bytes);
    uint64_t v = 0;
    for (int i = bytes - 1; i >= 0; --i) v = (v << 8) | p[i];
    return v;
  }
  // A text line as GLOBAL writes them, without its newline.
  std::string line() {
    size_t start = pos_;
    while (pos_ < size_ && data_[pos_] != '\n') {
      if (pos_ - start > 4096) owner_.fail("corrupted pickle: overlong GLOBAL name at byte " + std::to_string(start));
      ++pos_;
    }
    if (pos_ >= size_) owner_.fail("file is truncated");
    std::string s(reinterpret_cast<const char*>(data_ + start), pos_ - start);
    ++pos_;
    return s;
  }

 private:
  const Unpickler& owner_;
  const uint8_t* data_;
  size_t size_;
  size_t pos_;
};

// ---- the machine ------------------------------------------------------------

Unpickler::Unpickler(std::string context, PickleResolver& resolver)
    : context_(std::move(context)), resolver_(resolver) {
  none_ = make(Kind::None);
  true_ = make(Kind::Bool);
  true_->boolean = true;
  false_ = make(Kind::Bool);
  for (int i = 0; i < 256; ++i) {
    PickleValue* v = make(Kind::Int);
    v->integer = i;
    small_ints_.push_back(v);
  }
}

void Unpickler::fail(const std::string& what) const { throw Error(context_ + ": " + what); }

void Unpickler::corrupted(const std::string& what) const {
  fail("corrupted pickle: " + what + " at byte " + std::to_string(op_pos_));
}

PickleValue* Unpickler::make(Kind kind) {
  if (arena_.size() >= kMaxValues) fail("pickle holds too many objects");
  ++stats_.values;
  arena_.emplace_back();
  arena_.back().kind = kind;
  return &arena_.back();
}

PickleValue* Unpickler::make_int(int64_t v) {
  if (v >= 0 && v < 256) return small_ints_[static_cast<size_t>(v)];
  PickleValue* p = make(Kind::Int);
  p->integer = v;
  return p;
}

PickleValue* Unpickler::make_text(Kind kind, const char* data, size_t n) {
  PickleValue* p = make(kind);
  p->text.assign(data, n);
  stats_.bytes_copied += n;
  return p;
}

// An accepted global keeps its (short) name; any other is a placeholder
// that refers to its module and name strings, which may be long and shared:
// joining them for each of many STACK_GLOBALs would copy without bound.
PickleValue* Unpickler::make_global(PickleValue* module, PickleValue* name) {
  if (resolver_.accepts(module->text, name->text)) {
    const std::string full = module->text + "." + name->text;
    return make_text(Kind::Global, full.data(), full.size());
  }
  PickleValue* object = make(Kind::Object);
  object->items = {module, name};
  return object;
}

void Unpickler::push(PickleValue* v) {
  if (stack_.size() >= kMaxStack) fail("pickle stack too deep");
  stack_.push_back(v);
}

PickleValue* Unpickler::pop(const char* op) {
  size_t floor = marks_.empty() ? 0 : marks_.back();
  if (stack_.size() <= floor) corrupted(std::string(op) + " on an empty stack");
  PickleValue* v = stack_.back();
  stack_.pop_back();
  return v;
}

PickleValue* Unpickler::top(const char* op) {
  size_t floor = marks_.empty() ? 0 : marks_.back();
  if (stack_.size() <= floor) corrupted(std::string(op) + " on an empty stack");
  return stack_.back();
}

// Returns the stack size at the last MARK and drops the mark; the caller
// takes the items above it.
size_t Unpickler::pop_mark(const char* op) {
  if (marks_.empty()) corrupted(std::string(op) + " without MARK");
  size_t at = marks_.back();
  marks_.pop_back();
  return at;
}

PickleValue* Unpickler::memo_get(uint64_t index) {
  auto it = memo_.find(index);
  if (it == memo_.end()) corrupted("memo entry " + std::to_string(index) + " is not set");
  return it->second;
}

void Unpickler::memo_put(uint64_t index, PickleValue* v) {
  if (memo_.size() >= kMaxMemo && !memo_.count(index)) fail("pickle memo too large");
  memo_[index] = v;
}

// A dict key's identity: strings by content, ints by value, interned once
// per key value, so that a key set many times (through the memo) is hashed
// once, not once per SETITEM. 0 for keys kept without deduplication.
uint64_t Unpickler::key_id(PickleValue* key) {
  if (key->key_id_) return key->key_id_;
  if (key->is(Kind::String)) {
    stats_.bytes_hashed += key->text.size();
    auto [it, fresh] = interned_.emplace(std::string_view(key->text), next_key_id_ + 1);
    if (fresh)
      ++next_key_id_;
    else
      stats_.bytes_hashed += key->text.size();  // the comparison that found its twin
    return key->key_id_ = it->second;
  }
  if (key->is(Kind::Int)) {
    auto [it, fresh] = interned_ints_.emplace(key->integer, next_key_id_ + 1);
    if (fresh) ++next_key_id_;
    return key->key_id_ = it->second;
  }
  return 0;
}

void Unpickler::set_item(PickleValue* dict, PickleValue* key, PickleValue* value) {
  if (dict->is(Kind::Object)) return;  // a foreign dict-like (defaultdict, ...): its items are not kept
  if (!dict->is(Kind::Dict)) corrupted("SETITEM on " + describe_kind(dict->kind));
  if (const uint64_t id = key_id(key)) {
    if (!dict->index_) dict->index_ = std::make_unique<std::unordered_map<uint64_t, size_t>>();
    auto [it, fresh] = dict->index_->emplace(id, dict->items.size());
    if (!fresh) {
      dict->items[it->second + 1] = value;
      return;
    }
  }
  dict->items.push_back(key);
  dict->items.push_back(value);
}

const PickleValue& Unpickler::load(const char* data, size_t size, size_t begin, size_t* end) {
  if (begin > size) fail("file is truncated");
  stack_.clear();
  marks_.clear();
  memo_.clear();
  stopped_ = false;
  Cursor in(*this, data, size, begin);
  while (!stopped_) {
    op_pos_ = in.pos();
    step(in, in.u8());
  }
  *end = in.pos();
  // STOP left the result as the only value the machine still holds.
  return *stack_.back();
}

// Opcodes by their pickletools names; the protocols 2-5 subset torch emits.
void Unpickler::step(Cursor& in, uint8_t op) {
  switch (op) {
    case 0x80: {  // PROTO
      int version = in.u8();
      if (version > 5) fail("unsupported pickle protocol " + std::to_string(version));
      return;
    }
    case 0x95:  // FRAME: only a buffering hint, but its length must fit
      if (in.le(8) > uint64_t(-1) / 2) corrupted("bad FRAME length");
      return;
    case '.': {  // STOP
      PickleValue* result = pop("STOP");
      stack_.assign(1, result);
      stopped_ = true;
      return;
    }
    case '(':  // MARK
      if (marks_.size() >= kMaxStack) fail("pickle stack too deep");
      marks_.push_back(stack_.size());
      return;
    case '0': pop("POP"); return;
    case '1': stack_.resize(pop_mark("POP_MARK")); return;
    case '2': push(top("DUP")); return;
    case 'N': push(none_); return;
    case 0x88: push(true_); return;
    case 0x89: push(false_); return;
    case 'J': push(make_int(static_cast<int32_t>(static_cast<uint32_t>(in.le(4))))); return;
    case 'K': push(make_int(in.u8())); return;
    case 'M': push(make_int(static_cast<int64_t>(in.le(2)))); return;
    case 0x8a:    // LONG1
    case 0x8b: {  // LONG4
      uint64_t n = op == 0x8a ? in.u8() : in.le(4);
      const uint8_t* p = in.take(n);
      if (n <= 8) {
        uint64_t v = 0;
        for (uint64_t i = n; i-- > 0;) v = (v << 8) | p[i];
        if (n > 0 && n < 8 && (p[n - 1] & 0x80)) v |= ~uint64_t(0) << (8 * n);  // sign-extend
        push(make_int(static_cast<int64_t>(v)));
      } else {
        push(make_text(Kind::BigInt, reinterpret_cast<const char*>(p), n));
      }
      return;
    }
    case 'G': {  // BINFLOAT: big-endian IEEE double
      const uint8_t* p = in.take(8);
      uint64_t bits = 0;
      for (int i = 0; i < 8; ++i) bits = (bits << 8) | p[i];
      PickleValue* v = make(Kind::Float);
      std::memcpy(&v->number, &bits, sizeof bits);
      push(v);
      return;
    }
    case 'X':     // BINUNICODE
    case 0x8c:    // SHORT_BINUNICODE
    case 0x8d:    // BINUNICODE8
    case 'U':     // SHORT_BINSTRING
    case 'C':     // SHORT_BINBYTES
    case 'B':     // BINBYTES
    case 0x8e: {  // BINBYTES8
      uint64_t n = (op == 0x8c || op == 'U' || op == 'C') ? in.u8() : (op == 0x8d || op == 0x8e) ? in.le(8) : in.le(4);
      const uint8_t* p = in.take(n);
      Kind kind = (op == 'C' || op == 'B' || op == 0x8e) ? Kind::Bytes : Kind::String;
      push(make_text(kind, reinterpret_cast<const char*>(p), static_cast<size_t>(n)));
      return;
    }
    case 'T': {  // BINSTRING: signed 32-bit length
      int32_t n = static_cast<int32_t>(static_cast<uint32_t>(in.le(4)));
      if (n < 0) corrupted("negative BINSTRING length");
      const uint8_t* p = in.take(static_cast<uint64_t>(n));
      push(make_text(Kind::String, reinterpret_cast<const char*>(p), static_cast<size_t>(n)));
      return;
    }
    case '}': push(make(Kind::Dict)); return;
    case ']': push(make(Kind::List)); return;
    case ')': push(make(Kind::Tuple)); return;
    case 't': {  // TUPLE
      size_t at = pop_mark("TUPLE");
      PickleValue* v = make(Kind::Tuple);
      v->items.assign(stack_.begin() + static_cast<std::ptrdiff_t>(at), stack_.end());
      stack_.resize(at);
      push(v);
      return;
    }
    case 0x85:
    case 0x86:
    case 0x87: {  // TUPLE1..3
      size_t n = static_cast<size_t>(op - 0x84);
      PickleValue* v = make(Kind::Tuple);
      v->items.resize(n);
      for (size_t i = n; i-- > 0;) v->items[i] = pop("TUPLEn");
      push(v);
      return;
    }
    case 'a': {  // APPEND
      PickleValue* item = pop("APPEND");
      PickleValue* list = top("APPEND");
      if (list->is(Kind::Object)) return;  // a foreign list-like: its items are not kept
      if (!list->is(Kind::List)) corrupted("APPEND to " + describe_kind(list->kind));
      list->items.push_back(item);
      return;
    }
    case 'e': {  // APPENDS
      size_t at = pop_mark("APPENDS");
      if (at == 0 || (!marks_.empty() && at <= marks_.back())) corrupted("APPENDS without a list");
      PickleValue* list = stack_[at - 1];
      if (!list->is(Kind::List) && !list->is(Kind::Object)) corrupted("APPENDS to " + describe_kind(list->kind));
      if (list->is(Kind::List))
        list->items.insert(list->items.end(), stack_.begin() + static_cast<std::ptrdiff_t>(at), stack_.end());
      stack_.resize(at);
      return;
    }
    case 's': {  // SETITEM
      PickleValue* value = pop("SETITEM");
      PickleValue* key = pop("SETITEM");
      set_item(top("SETITEM"), key, value);
      return;
    }
    case 'u': {  // SETITEMS
      size_t at = pop_mark("SETITEMS");
      if (at == 0 || (!marks_.empty() && at <= marks_.back())) corrupted("SETITEMS without a dict");
      if ((stack_.size() - at) % 2 != 0) corrupted("SETITEMS with an odd number of items");
      PickleValue* dict = stack_[at - 1];
      for (size_t i = at; i < stack_.size(); i += 2) set_item(dict, stack_[i], stack_[i + 1]);
      stack_.resize(at);
      return;
    }
    case 'c': {  // GLOBAL "module\nname\n"
      const std::string module = in.line();
      const std::string name = in.line();
      push(make_global(make_text(Kind::String, module.data(), module.size()),
                       make_text(Kind::String, name.data(), name.size())));
      return;
    }
    case 0x93: {  // STACK_GLOBAL
      PickleValue* name = pop("STACK_GLOBAL");
      PickleValue* module = pop("STACK_GLOBAL");
      if (!name->is(Kind::String) || !module->is(Kind::String)) corrupted("STACK_GLOBAL of a non-string");
      push(make_global(module, name));
      return;
    }
    case 'R':       // REDUCE
    case 0x81: {    // NEWOBJ: cls.__new__(cls, *args); the resolver decides
      PickleValue* args = pop("REDUCE");
      PickleValue* callable = pop("REDUCE");
      if (callable->is(Kind::Object)) {  // never called: what it would make stays a placeholder
        PickleValue* made = make(Kind::Object);
        made->items = {callable};
        push(made);
        return;
      }
      if (!callable->is(Kind::Global)) corrupted("call of " + describe_kind(callable->kind));
      if (!args->is(Kind::Tuple)) corrupted("call with " + describe_kind(args->kind) + " as arguments");
      push(resolver_.call(*this, callable->text, *args));
      return;
    }
    case 'b':  // BUILD: sets attributes (OrderedDict's _metadata); data we do not need
      pop("BUILD");
      top("BUILD");
      return;
    case 'Q': {  // BINPERSID
      PickleValue* pid = pop("BINPERSID");
      push(resolver_.persistent_load(*this, *pid));
      return;
    }
    case 'h': push(memo_get(in.u8())); return;
    case 'j': push(memo_get(in.le(4))); return;
    case 'q': memo_put(in.u8(), top("BINPUT")); return;
    case 'r': memo_put(in.le(4), top("LONG_BINPUT")); return;
    case 0x94: memo_put(memo_.size(), top("MEMOIZE")); return;
    default: {
      char hex[8];
      std::snprintf(hex, sizeof hex, "0x%02x", op);
      fail("unsupported pickle opcode " + std::string(hex) + " at byte " + std::to_string(op_pos_));
    }
  }
}

// ---- torch's globals --------------------------------------------------------

namespace {

struct StorageType {
  const char* name;
  at::ScalarType dtype;
};
constexpr StorageType kStorageTypes[] = {
    {"FloatStorage", at::kFloat},   {"DoubleStorage", at::kDouble},
    {"HalfStorage", at::kHalf},     {"BFloat16Storage", at::kBFloat16},
    {"LongStorage", at::kLong},     {"IntStorage", at::kInt},
    {"ShortStorage", at::kShort},   {"CharStorage", at::kChar},
    {"ByteStorage", at::kByte},     {"BoolStorage", at::kBool},
    {"ComplexFloatStorage", at::kComplexFloat}, {"ComplexDoubleStorage", at::kComplexDouble},
};

constexpr const char* kCallables[] = {
    "collections.OrderedDict",
    "torch._utils._rebuild_tensor_v2",
    "torch._utils._rebuild_tensor",
    "torch._utils._rebuild_parameter",
    "torch.Size",
    "torch.jit._pickle.restore_type_tag",
};

int64_t int_arg(Unpickler& u, const PickleValue* v, const char* what) {
  if (!v->is(Kind::Int)) u.fail("corrupted tensor: " + std::string(what) + " is " + describe_kind(v->kind));
  return v->integer;
}

std::vector<int64_t> ints_arg(Unpickler& u, const PickleValue* v, const char* what) {
  if (!v->is(Kind::Tuple)) u.fail("corrupted tensor: " + std::string(what) + " is " + describe_kind(v->kind));
  if (v->items.size() > 64) u.fail("corrupted tensor: " + std::string(what) + " has too many dimensions");
  std::vector<int64_t> out;
  for (const PickleValue* item : v->items) {
    int64_t x = int_arg(u, item, what);
    if (x < 0) u.fail("corrupted tensor: negative " + std::string(what));
    out.push_back(x);
  }
  return out;
}

}  // namespace

at::ScalarType TorchResolver::storage_dtype(const std::string& global) {
  // PyTorch before 2.0 names the storages of CUDA tensors torch.cuda.FloatStorage
  // (GPU-trained checkpoints, pysot's among them); the bytes are the same and load on the CPU.
  for (const std::string prefix : {"torch.", "torch.cuda."}) {
    if (global.compare(0, prefix.size(), prefix) != 0) continue;
    for (const StorageType& t : kStorageTypes)
      if (global.compare(prefix.size(), std::string::npos, t.name) == 0) return t.dtype;
  }
  return at::ScalarType::Undefined;
}

bool TorchResolver::accepts(const std::string& module, const std::string& name) const {
  if (module.size() + name.size() > 64) return false;  // longer than any accepted name: not worth joining
  std::string full = module + "." + name;
  for (const char* c : kCallables)
    if (full == c) return true;
  return storage_dtype(full) != at::ScalarType::Undefined;
}

PickleValue* TorchResolver::call(Unpickler& u, const std::string& global, const PickleValue& args) {
  const auto& a = args.items;
  if (global == "torch._utils._rebuild_tensor_v2") return rebuild_tensor(u, args, 6, 7);
  if (global == "torch._utils._rebuild_tensor") return rebuild_tensor(u, args, 4, 4);
  if (global == "collections.OrderedDict" && a.empty()) return u.make(Kind::Dict);
  if (global == "torch._utils._rebuild_parameter" && a.size() == 3 && a[0]->is(Kind::Tensor)) return a[0];
  if (global == "torch.Size" && a.size() == 1 && a[0]->is(Kind::Tuple)) return a[0];
  // torch::pickle_save tags containers with their TorchScript type: (value, "Dict[str, Tensor]").
  if (global == "torch.jit._pickle.restore_type_tag" && a.size() == 2 && a[1]->is(Kind::String)) return a[0];
  u.fail("unsupported call of '" + global + "' with " + std::to_string(a.size()) + " arguments");
}

PickleValue* TorchResolver::persistent_load(Unpickler& u, const PickleValue& pid) {
  const auto& a = pid.items;
  if (pid.is(Kind::Tuple) && a.size() >= 2 && a[1]->is(Kind::Object))
    u.fail("unsupported storage type '" + a[1]->global_name() + "'");
  if (!pid.is(Kind::Tuple) || a.size() < 5 || a.size() > 6 || !a[0]->is(Kind::String) || a[0]->text != "storage" ||
      !a[1]->is(Kind::Global) || !a[2]->is(Kind::String) || !a[3]->is(Kind::String) || !a[4]->is(Kind::Int))
    u.fail("corrupted pickle: unsupported persistent id");
  if (a.size() == 6 && !a[5]->is(Kind::None)) u.fail("unsupported storage view (very old checkpoint format)");
  at::ScalarType dtype = storage_dtype(a[1]->text);
  if (dtype == at::ScalarType::Undefined) u.fail("unsupported storage type '" + a[1]->text + "'");
  const std::string& key = a[2]->text;
  int64_t numel = a[4]->integer;
  if (numel < 0) u.fail("corrupted pickle: storage '" + key + "' has negative size");
  auto it = storages_.find(key);
  if (it != storages_.end()) {
    const at::Tensor& known = it->second->tensor;
    if (known.scalar_type() != dtype || known.numel() != numel)
      u.fail("corrupted pickle: storage '" + key + "' is declared twice differently");
    return it->second;
  }
  PickleValue* v = u.make(Kind::Storage);
  v->tensor = load_storage(u, key, dtype, numel);
  storages_.emplace(key, v);
  return v;
}

// (storage, storage_offset, size, stride, ...): a view of the storage, once
// every element it reaches is known to lie inside it.
PickleValue* TorchResolver::rebuild_tensor(Unpickler& u, const PickleValue& args, size_t min_args, size_t max_args) {
  const auto& a = args.items;
  if (a.size() < min_args || a.size() > max_args)
    u.fail("corrupted tensor: " + std::to_string(a.size()) + " arguments to rebuild it");
  if (!a[0]->is(Kind::Storage)) u.fail("corrupted tensor: its storage is " + describe_kind(a[0]->kind));
  const at::Tensor& storage = a[0]->tensor;
  int64_t offset = int_arg(u, a[1], "storage offset");
  std::vector<int64_t> size = ints_arg(u, a[2], "size");
  std::vector<int64_t> stride = ints_arg(u, a[3], "stride");
  if (size.size() != stride.size()) u.fail("corrupted tensor: size and stride differ in length");
  if (offset < 0) u.fail("corrupted tensor: negative storage offset");

  bool empty = false;
  int64_t product = 1, last = offset;
  for (size_t d = 0; d < size.size(); ++d) {
    if (size[d] == 0) {
      empty = true;
      continue;
    }
    int64_t reach = 0;
    if (__builtin_mul_overflow(product, size[d], &product) ||
        __builtin_mul_overflow(size[d] - 1, stride[d], &reach) || __builtin_add_overflow(last, reach, &last))
      u.fail("corrupted tensor: size overflows");
  }
  int64_t available = storage.numel();
  if (empty ? offset > available : last >= available)
    u.fail("corrupted tensor: it reaches element " + std::to_string(empty ? offset : last) + " of a storage of " +
           std::to_string(available));
  PickleValue* v = u.make(Kind::Tensor);
  try {
    v->tensor = storage.as_strided(size, stride, offset);
  } catch (const c10::Error& e) {
    u.fail("corrupted tensor: " + std::string(e.what_without_backtrace()).substr(0, 200));
  }
  return v;
}

}  // namespace reskit::io
