#include "torch_file.h"

#include <ATen/ATen.h>
#include <caffe2/serialize/inline_container.h>
#include <caffe2/serialize/versions.h>

#include <algorithm>
#include <cstdint>
#include <cstring>
#include <deque>
#include <filesystem>
#include <fstream>
#include <map>

#include "error.h"
#include "zip_check.h"

namespace sapnet {
namespace {

// Limits far above what a state dict needs (it nests 3 deep and builds about 10 objects per
// tensor) that keep a hostile pickle from exhausting memory or the stack.
constexpr int kMaxDepth = 100;
constexpr size_t kMaxObjects = size_t(1) << 22;

// The subset of Python objects a state-dict pickle builds. They live in the unpickler's arena and
// point at each other without ownership, so that nesting and cycles (a list appended to itself
// through the memo) cost no recursion when the objects are freed.
struct PyObject {
  enum Kind {
    kNone,
    kBool,
    kInt,
    kFloat,
    kString,
    kTuple,
    kList,
    kDict,
    kGlobal,
    kTensor,
    kOpaque
  };
  Kind kind = kNone;
  int depth = 1;  // containers: 1 + the deepest item (as it was when the item was added)
  int64_t integer = 0;
  double real = 0;
  std::string text, text2;        // strings; a global's module and name
  std::vector<PyObject *> items;  // tuple and list items; dict keys and values interleaved
  at::Tensor tensor;
};
using Obj = PyObject *;

at::ScalarType storage_dtype(const std::string &name) {
  static const std::map<std::string, at::ScalarType> types = {
      {"FloatStorage", at::kFloat}, {"DoubleStorage", at::kDouble},
      {"HalfStorage", at::kHalf},   {"BFloat16Storage", at::kBFloat16},
      {"LongStorage", at::kLong},   {"IntStorage", at::kInt},
      {"ShortStorage", at::kShort}, {"CharStorage", at::kChar},
      {"ByteStorage", at::kByte},   {"BoolStorage", at::kBool}};
  auto it = types.find(name);
  if (it == types.end()) throw Error("unsupported tensor storage type torch." + name);
  return it->second;
}

class Unpickler {
 public:
  Unpickler(const std::string &bytes, const RecordReader &read_record)
      : in_(bytes), read_record_(read_record) {}

  // The root object; it lives as long as the unpickler.
  Obj run() {
    while (true) {
      if (pos_ >= in_.size()) throw Error("pickle ends without STOP (truncated data.pkl)");
      const uint8_t op = byte();
      switch (op) {
        case 0x80:
          byte();
          break;  // PROTO
        case 0x95:
          take(8);
          break;  // FRAME
        case '.':
          return pop();  // STOP
        case '(':
          marks_.push_back(stack_.size());
          break;  // MARK
        case 'N':
          stack_.push_back(make(PyObject::kNone));
          break;  // NONE
        case 0x88:
          push_bool(true);
          break;  // NEWTRUE
        case 0x89:
          push_bool(false);
          break;  // NEWFALSE
        case 'K':
          push_int(byte());
          break;  // BININT1
        case 'M':
          push_int(uint16());
          break;  // BININT2
        case 'J':
          push_int(static_cast<int32_t>(uint32()));
          break;  // BININT
        case 0x8a:
          push_long(byte());
          break;  // LONG1
        case 'G':
          push_float();
          break;  // BINFLOAT
        case 'X':
          push_string(uint32());
          break;  // BINUNICODE
        case 0x8c:
          push_string(byte());
          break;  // SHORT_BINUNICODE
        case ')':
          stack_.push_back(make(PyObject::kTuple));
          break;  // EMPTY_TUPLE
        case ']':
          stack_.push_back(make(PyObject::kList));
          break;  // EMPTY_LIST
        case '}':
          stack_.push_back(make(PyObject::kDict));
          break;  // EMPTY_DICT
        case 't':
          push_sequence(PyObject::kTuple, pop_mark());
          break;  // TUPLE
        case 'l':
          push_sequence(PyObject::kList, pop_mark());
          break;  // LIST
        case 0x85:
          push_sequence(PyObject::kTuple, pop_n(1));
          break;  // TUPLE1
        case 0x86:
          push_sequence(PyObject::kTuple, pop_n(2));
          break;  // TUPLE2
        case 0x87:
          push_sequence(PyObject::kTuple, pop_n(3));
          break;  // TUPLE3
        case 'a':
          append(pop_n(1));
          break;  // APPEND
        case 'e':
          append(pop_mark());
          break;  // APPENDS
        case 's':
          set_items(pop_n(2));
          break;  // SETITEM
        case 'u':
          set_items(pop_mark());
          break;  // SETITEMS
        case 'q':
          memo_[byte()] = top();
          break;  // BINPUT
        case 'r':
          memo_[uint32()] = top();
          break;  // LONG_BINPUT
        case 0x94:
          memo_[memo_.size()] = top();
          break;  // MEMOIZE
        case 'h':
          stack_.push_back(memo(byte()));
          break;  // BINGET
        case 'j':
          stack_.push_back(memo(uint32()));
          break;     // LONG_BINGET
        case 'c': {  // GLOBAL
          std::string module = line();
          push_global(module, line());
          break;
        }
        case 0x93: {  // STACK_GLOBAL
          auto name = pop(), module = pop();
          push_global(module->text, name->text);
          break;
        }
        case 'Q':
          stack_.push_back(load_storage(pop()));
          break;     // BINPERSID
        case 'R': {  // REDUCE
          auto args = pop(), callable = pop();
          stack_.push_back(reduce(*callable, *args));
          break;
        }
        case 'b':
          pop();
          break;  // BUILD: state of an object (an OrderedDict's _metadata) is not needed
        default: {
          char hex[8];
          std::snprintf(hex, sizeof hex, "0x%02x", op);
          throw Error(std::string("unsupported pickle opcode ") + hex + " at byte " +
                      std::to_string(pos_ - 1) + " of data.pkl");
        }
      }
    }
  }

 private:
  uint8_t byte() {
    if (pos_ >= in_.size()) throw Error("data.pkl ends in the middle of an instruction");
    return static_cast<uint8_t>(in_[pos_++]);
  }
  const char *take(size_t n) {
    if (n > in_.size() - pos_) throw Error("data.pkl ends in the middle of an instruction");
    const char *p = in_.data() + pos_;
    pos_ += n;
    return p;
  }
  uint32_t uint16() {
    uint16_t v;
    std::memcpy(&v, take(2), 2);
    return v;
  }
  uint32_t uint32() {
    uint32_t v;
    std::memcpy(&v, take(4), 4);
    return v;
  }
  std::string line() {
    auto end = in_.find('\n', pos_);
    if (end == std::string::npos) throw Error("data.pkl: unterminated GLOBAL name");
    std::string s = in_.substr(pos_, end - pos_);
    pos_ = end + 1;
    return s;
  }

  Obj pop() {
    if (stack_.empty() || (!marks_.empty() && stack_.size() <= marks_.back()))
      throw Error("malformed pickle: stack underflow at byte " + std::to_string(pos_));
    auto o = stack_.back();
    stack_.pop_back();
    return o;
  }
  Obj top() {
    if (stack_.empty()) throw Error("malformed pickle: memo of an empty stack");
    return stack_.back();
  }
  std::vector<Obj> pop_n(size_t n) {
    std::vector<Obj> out(n);
    for (size_t i = n; i-- > 0;) out[i] = pop();
    return out;
  }
  std::vector<Obj> pop_mark() {
    if (marks_.empty()) throw Error("malformed pickle: no MARK");
    const size_t start = marks_.back();
    marks_.pop_back();
    std::vector<Obj> out(stack_.begin() + start, stack_.end());
    stack_.resize(start);
    return out;
  }
  Obj memo(uint32_t key) {
    auto it = memo_.find(key);
    if (it == memo_.end()) throw Error("malformed pickle: unknown memo " + std::to_string(key));
    return it->second;
  }

  void push_bool(bool v) {
    auto o = make(PyObject::kBool);
    o->integer = v;
    stack_.push_back(o);
  }
  void push_int(int64_t v) {
    auto o = make(PyObject::kInt);
    o->integer = v;
    stack_.push_back(o);
  }
  void push_long(size_t n) {
    if (n > 8) throw Error("pickle integer wider than 64 bits");
    const char *p = take(n);
    uint64_t v = 0;
    for (size_t i = 0; i < n; ++i) v |= uint64_t(uint8_t(p[i])) << (8 * i);
    if (n > 0 && n < 8 && (uint8_t(p[n - 1]) & 0x80)) v |= ~uint64_t(0) << (8 * n);  // sign-extend
    push_int(static_cast<int64_t>(v));
  }
  void push_float() {
    const char *p = take(8);
    uint64_t bits = 0;
    for (int i = 0; i < 8; ++i) bits = (bits << 8) | uint8_t(p[i]);  // big-endian
    auto o = make(PyObject::kFloat);
    std::memcpy(&o->real, &bits, 8);
    stack_.push_back(o);
  }
  void push_string(size_t n) {
    auto o = make(PyObject::kString);
    o->text.assign(take(n), n);
    stack_.push_back(o);
  }
  void push_sequence(PyObject::Kind kind, std::vector<Obj> items) {
    auto o = make(kind);
    for (const Obj item : items) nest(o, item);
    o->items = std::move(items);
    stack_.push_back(o);
  }
  void push_global(const std::string &module, const std::string &name) {
    auto o = make(PyObject::kGlobal);
    o->text = module;
    o->text2 = name;
    stack_.push_back(o);
  }
  void append(const std::vector<Obj> &items) {
    auto list = top();
    if (list->kind != PyObject::kList) throw Error("malformed pickle: APPEND to a non-list");
    for (const Obj item : items) nest(list, item);
    list->items.insert(list->items.end(), items.begin(), items.end());
  }
  void set_items(const std::vector<Obj> &kv) {
    auto dict = top();
    if (dict->kind != PyObject::kDict) throw Error("malformed pickle: SETITEM on a non-dict");
    if (kv.size() % 2) throw Error("malformed pickle: SETITEMS with a key but no value");
    for (const Obj item : kv) nest(dict, item);
    dict->items.insert(dict->items.end(), kv.begin(), kv.end());
  }

  static int64_t as_int(const Obj o) {
    if (o->kind != PyObject::kInt)
      throw Error("pickle: expected an integer in a tensor description");
    return o->integer;
  }
  static std::vector<int64_t> as_ints(const Obj o) {
    if (o->kind != PyObject::kTuple) throw Error("pickle: expected a tuple of integers");
    std::vector<int64_t> v;
    for (auto &i : o->items) v.push_back(as_int(i));
    return v;
  }

  // ('storage', torch.XStorage, key, location, numel): a record "data/<key>" of the archive.
  Obj load_storage(const Obj pid) {
    if (pid->kind != PyObject::kTuple || pid->items.size() < 5 ||
        pid->items[0]->kind != PyObject::kString || pid->items[0]->text != "storage" ||
        pid->items[1]->kind != PyObject::kGlobal || pid->items[2]->kind != PyObject::kString)
      throw Error("pickle: unsupported persistent id (not a tensor storage)");
    const std::string key = pid->items[2]->text;
    auto cached = storages_.find(key);
    if (cached != storages_.end()) return cached->second;
    const auto dtype = storage_dtype(pid->items[1]->text2);
    const int64_t numel = as_int(pid->items[4]);
    at::DataPtr data;
    size_t size = 0;
    std::tie(data, size) = read_record_("data/" + key);
    const size_t element = c10::elementSize(dtype);
    if (numel < 0 || size % element != 0 || size / element != static_cast<uint64_t>(numel))
      throw Error("tensor storage data/" + key + " has " + std::to_string(size) +
                  " bytes, expected " + std::to_string(numel) + " elements of " +
                  std::to_string(element) + " bytes");
    if (dtype == at::kBool)
      for (size_t i = 0; i < size; ++i)
        if (static_cast<const uint8_t *>(data.get())[i] > 1)
          throw Error("tensor storage data/" + key + " holds a boolean that is neither 0 nor 1");
    auto o = make(PyObject::kTensor);
    o->tensor = at::empty({numel}, at::TensorOptions().dtype(dtype));
    if (size > 0) std::memcpy(o->tensor.data_ptr(), data.get(), size);
    storage_bytes_ += static_cast<int64_t>(size);
    storages_[key] = o;
    return o;
  }

  // The view (offset, sizes, strides) of `storage` as its own tensor, checked to lie inside it.
  Obj rebuild_tensor(const at::Tensor &storage, int64_t offset, const std::vector<int64_t> &sizes,
                     const std::vector<int64_t> &strides) {
    if (sizes.size() != strides.size() || sizes.size() > 64)
      throw Error("pickle: tensor with " + std::to_string(sizes.size()) + " sizes and " +
                  std::to_string(strides.size()) + " strides");
    if (offset < 0) throw Error("pickle: tensor with a negative storage offset");
    int64_t numel = 1, last = offset;  // the element count and the last element's index
    bool overflow = false;
    for (size_t d = 0; d < sizes.size(); ++d) {
      if (sizes[d] < 0 || strides[d] < 0)
        throw Error("pickle: tensor with a negative size or stride");
      int64_t reach = 0;
      overflow = overflow || __builtin_mul_overflow(numel, sizes[d], &numel);
      if (sizes[d] > 0)
        overflow = overflow || __builtin_mul_overflow(sizes[d] - 1, strides[d], &reach) ||
                   __builtin_add_overflow(last, reach, &last);
    }
    if (overflow) throw Error("pickle: tensor sizes or strides out of range");
    if (numel > 0 ? last >= storage.numel() : offset > storage.numel())
      throw Error("pickle: tensor view reaches past its storage");
    // Views share their storage; each becomes a tensor of its own. Overlapping views (a tensor
    // and its transpose) are legitimate, but not ones that add up to many times the file.
    const int64_t bytes = numel * static_cast<int64_t>(storage.element_size());
    tensor_bytes_ += bytes;
    if (tensor_bytes_ > 4 * storage_bytes_ + (int64_t(1) << 20))
      throw Error("pickle: its tensors add up to " + std::to_string(tensor_bytes_) +
                  " bytes from " + std::to_string(storage_bytes_) + " bytes of storage");
    auto o = make(PyObject::kTensor);
    o->tensor = storage.as_strided(sizes, strides, offset).clone();
    return o;
  }

  Obj reduce(const PyObject &callable, const PyObject &args) {
    if (callable.kind != PyObject::kGlobal) throw Error("pickle: REDUCE on a non-callable");
    const std::string fn = callable.text + "." + callable.text2;
    if (fn == "collections.OrderedDict") return make(PyObject::kDict);
    if (fn == "torch._utils._rebuild_tensor_v2" || fn == "torch._utils._rebuild_tensor") {
      if (args.kind != PyObject::kTuple || args.items.size() < 4 ||
          args.items[0]->kind != PyObject::kTensor)
        throw Error("pickle: malformed tensor in " + fn);
      return rebuild_tensor(args.items[0]->tensor, as_int(args.items[1]), as_ints(args.items[2]),
                            as_ints(args.items[3]));
    }
    if (fn == "torch._utils._rebuild_parameter") {
      if (args.kind != PyObject::kTuple || args.items.empty() ||
          args.items[0]->kind != PyObject::kTensor)
        throw Error("pickle: malformed parameter");
      return args.items[0];
    }
    throw Error("pickle: unsupported object " + fn + " (expected a state dict of tensors)");
  }

  Obj make(PyObject::Kind kind) {
    if (arena_.size() >= kMaxObjects)
      throw Error("pickle builds more than " + std::to_string(kMaxObjects) +
                  " objects (not a state dict)");
    arena_.emplace_back();
    arena_.back().kind = kind;
    return &arena_.back();
  }
  // `container` now holds `item`.
  static void nest(PyObject *container, const PyObject *item) {
    container->depth = std::max(container->depth, item->depth + 1);
    if (container->depth > kMaxDepth)
      throw Error("pickle nests containers more than " + std::to_string(kMaxDepth) +
                  " deep (not a state dict)");
  }

  const std::string &in_;
  const RecordReader &read_record_;
  std::deque<PyObject> arena_;  // every object, freed flat
  int64_t storage_bytes_ = 0;   // of the storages read
  int64_t tensor_bytes_ = 0;    // of the tensors built from them
  size_t pos_ = 0;
  std::vector<Obj> stack_;
  std::vector<size_t> marks_;
  std::map<uint32_t, Obj> memo_;
  std::map<std::string, Obj> storages_;
};

void check_readable(const std::string &path) {
  std::error_code ec;
  if (!std::filesystem::exists(path, ec)) throw Error(path + ": no such file");
  if (std::filesystem::is_directory(path, ec))
    throw Error(path + ": is a folder, not a model file");
  std::ifstream f(path, std::ios::binary);
  if (!f) throw Error(path + ": cannot be opened for reading");
}

// The first line of a c10::Error, without LibTorch's C++ backtrace.
std::string first_line(const std::string &what) {
  return what.substr(0, what.find('\n'));
}

// TorchScript archives (torch.jit.save, sapnet export) hold code and constants besides data.pkl.
bool is_torchscript(caffe2::serialize::PyTorchStreamReader &archive) {
  if (archive.hasRecord("constants.pkl")) return true;
  for (const std::string &name : archive.getAllRecords())
    if (name.rfind("code/", 0) == 0) return true;
  return false;
}

}  // namespace

bool is_torch_zip_file(const std::string &path) {
  try {
    caffe2::serialize::PyTorchStreamReader archive(path);
    return archive.hasRecord("data.pkl");
  } catch (const std::exception &) {
    return false;
  }
}

NamedTensors unpickle_state_dict(const std::string &pickle, const RecordReader &read_record) {
  Unpickler unpickler(pickle, read_record);
  const PyObject *root = unpickler.run();
  if (root->kind != PyObject::kDict)
    throw Error(
        "the pickled object is not a dict of tensors (a whole model? save its state_dict())");
  NamedTensors out;
  for (size_t i = 0; i + 1 < root->items.size(); i += 2) {
    const PyObject *key = root->items[i], *value = root->items[i + 1];
    if (key->kind != PyObject::kString || value->kind != PyObject::kTensor)
      throw Error(
          "the dict holds something other than named tensors (a training checkpoint? "
          "save the model's state_dict())");
    out.emplace_back(key->text, value->tensor);
  }
  return out;
}

void check_not_legacy_torch_file(const std::string &path) {
  std::ifstream f(path, std::ios::binary);
  char head[32] = {};
  f.read(head, sizeof head);
  const auto n = static_cast<size_t>(f.gcount());
  const auto at = [&](size_t i) { return i < n ? static_cast<uint8_t>(head[i]) : 0; };
  // PROTO 2..5, an optional FRAME, then LONG1 of 10 bytes: PyTorch's magic number.
  if (at(0) != 0x80 || at(1) < 2 || at(1) > 5) return;
  size_t p = at(2) == 0x95 ? 11 : 2;
  static const uint8_t kMagic[] = {0x8a, 0x0a, 0x6c, 0xfc, 0x9c, 0x46,
                                   0xf9, 0x20, 0x6a, 0xa8, 0x50, 0x19};
  bool magic = true;
  for (size_t i = 0; i < sizeof kMagic; ++i) magic = magic && at(p + i) == kMagic[i];
  if (magic)
    throw Error(
        "a legacy torch.save file (PyTorch before 1.6, or _use_new_zipfile_serialization=False), "
        "which sapnet does not read: re-save it in Python with torch.save(torch.load(old), new, "
        "_use_new_zipfile_serialization=True)");
  throw Error(
      "a Python pickle, not a PyTorch zip file: save the weights with "
      "torch.save(model.state_dict(), path) (PyTorch 1.6 or later)");
}

void check_torch_archive(const std::string &path) {
  check_not_legacy_torch_file(path);
  const uint64_t version = verify_zip_checksums(path);
  if (version < caffe2::serialize::kMinSupportedFileFormatVersion ||
      version > caffe2::serialize::kMaxSupportedFileFormatVersion)
    throw Error("PyTorch archive format version " + std::to_string(version) +
                (version > caffe2::serialize::kMaxSupportedFileFormatVersion
                     ? " is newer than this LibTorch reads ("
                     : " is not one this LibTorch reads (") +
                std::to_string(caffe2::serialize::kMinSupportedFileFormatVersion) + ".." +
                std::to_string(caffe2::serialize::kMaxSupportedFileFormatVersion) + ")");
}

void check_finite(const NamedTensors &tensors) {
  for (const auto &[name, tensor] : tensors) {
    if (!tensor.defined() || !at::isFloatingType(tensor.scalar_type()) || tensor.numel() == 0)
      continue;
    const at::Tensor t = tensor.scalar_type() == at::kDouble ? tensor : tensor.to(at::kFloat);
    const int64_t bad = at::logical_not(at::isfinite(t)).sum().item<int64_t>();
    if (bad > 0)
      throw Error("tensor " + name + " holds " + std::to_string(bad) +
                  " NaN or infinite value(s) (of " + std::to_string(t.numel()) +
                  "): the weights are broken (did the training diverge?)");
  }
}

NamedTensors read_torch_state_dict(const std::string &path) {
  check_readable(path);
  try {
    check_torch_archive(path);
    caffe2::serialize::PyTorchStreamReader archive(path);
    if (is_torchscript(archive))
      throw Error(
          "a TorchScript archive (sapnet export's output, or torch.jit.save's), not weights: "
          "sapnet reads a state dict (torch.save(model.state_dict(), path)) or a .sapnet "
          "checkpoint");
    if (!archive.hasRecord("data.pkl"))
      throw Error("not a torch.save file (no data.pkl record in the zip archive)");
    at::DataPtr data;
    size_t size = 0;
    std::tie(data, size) = archive.getRecord("data.pkl");
    const std::string bytes(static_cast<const char *>(data.get()), size);
    NamedTensors out = unpickle_state_dict(
        bytes, [&archive](const std::string &name) { return archive.getRecord(name); });
    check_finite(out);
    return out;
  } catch (const Error &e) {
    throw Error(path + ": " + e.what());
  } catch (const c10::Error &e) {
    throw Error(path + ": not a readable PyTorch zip file (" +
                first_line(e.what_without_backtrace()) + ")");
  } catch (const std::exception &e) {  // e.g. std::out_of_range from LibTorch's version parsing
    throw Error(path + ": not a readable PyTorch zip file (" + first_line(e.what()) + ")");
  }
}

}  // namespace sapnet
