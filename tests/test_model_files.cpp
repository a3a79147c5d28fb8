// Hostile and foreign model files: every one is refused with a message naming the file and what is
// wrong, never a crash. The files are built here byte by byte (pickles, zips), no Python needed.
#include <caffe2/serialize/inline_container.h>
#include <gtest/gtest.h>
#include <torch/script.h>
#include <torch/torch.h>

#include <cmath>
#include <cstring>
#include <fstream>
#include <limits>

#include "error.h"
#include "expect_error.h"
#include "model_file.h"
#include "run_sapnet.h"
#include "sapnet.h"
#include "shared_data.h"
#include "torch_file.h"

namespace sapnet {
namespace {

using testing::TempDir;

using testing::error_of;

// A string literal with its NUL bytes.
template <size_t N>
std::string bin(const char (&s)[N]) {
  return std::string(s, N - 1);
}

// --- A pickle writer for the opcodes torch.save uses -------------------------------------------

std::string u32(uint32_t v) {
  std::string s(4, '\0');
  for (int i = 0; i < 4; ++i) s[i] = static_cast<char>(v >> (8 * i));
  return s;
}
std::string str(const std::string &s) {
  return "X" + u32(static_cast<uint32_t>(s.size())) + s;  // BINUNICODE
}
std::string integer(int64_t v) {
  return "J" + u32(static_cast<uint32_t>(static_cast<int32_t>(v)));  // BININT
}
std::string global(const std::string &module, const std::string &name) {
  return "c" + module + "\n" + name + "\n";
}
std::string ints(const std::vector<int64_t> &v) {
  std::string s = "(";
  for (int64_t x : v) s += integer(x);
  return s + "t";
}

struct PickledTensor {
  std::string key;
  std::vector<int64_t> sizes, strides;
  int64_t offset = 0;
  std::string storage;  // storage key: record data/<storage>
  int64_t storage_numel = 0;
};

// An OrderedDict of float tensors, as torch.save writes a state dict.
std::string state_dict_pickle(const std::vector<PickledTensor> &tensors) {
  std::string p = "\x80\x02" + global("collections", "OrderedDict") + ")R";
  for (const auto &t : tensors) {
    p += str(t.key) + global("torch._utils", "_rebuild_tensor_v2") + "(";
    p += "(" + str("storage") + global("torch", "FloatStorage") + str(t.storage) + str("cpu") +
         integer(t.storage_numel) + "tQ";
    p += integer(t.offset) + ints(t.sizes) + ints(t.strides) + "\x89" +
         global("collections", "OrderedDict") + ")R" + "tR" + "s";
  }
  return p + ".";
}

std::vector<int64_t> contiguous_strides(const std::vector<int64_t> &sizes) {
  std::vector<int64_t> strides(sizes.size(), 1);
  for (size_t d = sizes.size(); d-- > 1;) strides[d - 1] = strides[d] * sizes[d];
  return strides;
}

// A zip as torch.save writes it: <name>/data.pkl and the storages <name>/data/<key>.
void write_pth(const std::string &path, const std::string &pickle,
               const std::map<std::string, std::vector<float>> &storages) {
  caffe2::serialize::PyTorchStreamWriter writer(path);
  writer.writeRecord("data.pkl", pickle.data(), pickle.size());
  for (const auto &[key, values] : storages)
    writer.writeRecord("data/" + key, values.data(), values.size() * sizeof(float));
  writer.writeEndOfFile();
}

// A state dict file of named tensors, each with its own storage holding `fill`.
void write_state_dict(const std::string &path,
                      const std::vector<std::pair<std::string, std::vector<int64_t>>> &shapes,
                      float fill = 0.5f) {
  std::vector<PickledTensor> tensors;
  std::map<std::string, std::vector<float>> storages;
  for (const auto &[key, sizes] : shapes) {
    PickledTensor t;
    t.key = key;
    t.sizes = sizes;
    t.strides = contiguous_strides(sizes);
    t.storage = std::to_string(tensors.size());
    t.storage_numel = 1;
    for (int64_t s : sizes) t.storage_numel *= s;
    storages[t.storage].assign(t.storage_numel, fill);
    tensors.push_back(t);
  }
  write_pth(path, state_dict_pickle(tensors), storages);
}

TEST(PickleWriter, WritesAStateDictTheReaderLoads) {
  TempDir dir;
  write_state_dict(dir / "ok.pth", {{"a", {2, 3}}, {"b", {4}}});
  auto t = read_torch_state_dict(dir / "ok.pth");
  ASSERT_EQ(t.size(), 2u);
  EXPECT_EQ(t[0].first, "a");
  EXPECT_EQ(t[0].second.sizes(), (std::vector<int64_t>{2, 3}));
  EXPECT_FLOAT_EQ(t[1].second[3].item<float>(), 0.5f);
}

// --- 1. Nesting ----------------------------------------------------------------------------------

TEST(HostilePickle, DeeplyNestedListsAreRefusedWithoutCrashing_n) {
  TempDir dir;
  // 200,000 empty lists, each appended to the one below: 400 KB of pickle, 200,000 levels deep.
  const size_t depth = 200000;
  const std::string pickle =
      "\x80\x02" + std::string(depth, ']') + std::string(depth - 1, 'a') + ".";
  write_pth(dir / "nested.pth", pickle, {});
  const auto msg = error_of([&] { load_model_file(dir / "nested.pth"); });
  EXPECT_CONTAINS(msg, dir / "nested.pth");
  EXPECT_CONTAINS(msg, "nests containers more than 100 deep");
  EXPECT_CONTAINS(error_of([&] { read_torch_state_dict(dir / "nested.pth"); }), "deep");
}

TEST(HostilePickle, CyclesAndSharedObjectsAreFreed_n) {
  // A list appended to itself through the memo; a dict whose value is not a tensor.
  const std::string cycle =
      bin("\x80\x02]q\x00h\x00h\x00"
          "a"
          "a.");
  auto no_records = [](const std::string &) -> std::tuple<at::DataPtr, size_t> {
    throw Error("no records");
  };
  EXPECT_CONTAINS(error_of([&] { unpickle_state_dict(cycle, no_records); }), "not a dict");
  const std::string shared = bin("\x80\x02}q\x00X\x01\x00\x00\x00k]q\x01\x85s.");
  EXPECT_CONTAINS(error_of([&] { unpickle_state_dict(shared, no_records); }), "named tensors");
}

// --- 2. Keys and shapes that infer_network cannot use
// ---------------------------------------------

TEST(HostileStateDict, HugeUnitNumberIsNamed_n) {
  TempDir dir;
  write_state_dict(dir / "units.pth", {{"conv0.0.weight", {32, 6, 3, 3}},
                                       {"res_conv99999999999999999999.0.weight", {32, 32, 3, 3}}});
  const auto msg = error_of([&] { load_model_file(dir / "units.pth"); });
  EXPECT_CONTAINS(msg, dir / "units.pth");
  EXPECT_CONTAINS(msg, "res_conv99999999999999999999.0.weight");
  EXPECT_CONTAINS(msg, "unit number out of range");
  // Within int, but far beyond any network: no shift overflow, a range error.
  EXPECT_CONTAINS(error_of([&] {
                    infer_network({{"conv0.0.weight", torch::zeros({32, 6, 3, 3})},
                                   {"res_conv40.1.conv_du.0.weight", torch::zeros({2, 32, 1, 1})}});
                  }),
                  "dilation must be 1..64");
}

TEST(HostileStateDict, LongKeyDoesNotOverflowTheStack_n) {
  // A 4 MB key: a regular expression matcher would recurse once per character.
  const NetworkConfig c =
      infer_network({{"conv0.0.weight", torch::zeros({32, 6, 3, 3})},
                     {"res_conv1.0." + std::string(4 << 20, 'x'), torch::zeros({1})}});
  EXPECT_EQ(c.dilations, std::vector<int>{1});
  EXPECT_FALSE(c.cra);
}

TEST(HostileStateDict, ScalarConv0IsNamed_n) {
  TempDir dir;
  write_state_dict(dir / "scalar.pth", {{"conv0.0.weight", {}}, {"res_conv1.0.weight", {1}}});
  const auto msg = error_of([&] { load_model_file(dir / "scalar.pth"); });
  EXPECT_CONTAINS(msg, dir / "scalar.pth");
  EXPECT_CONTAINS(msg, "conv0.0.weight has shape [], expected [channels, 6, 3, 3]");
  EXPECT_CONTAINS(error_of([&] {
                    infer_network({{"conv0.0.weight", torch::zeros({32, 6, 3, 3})},
                                   {"res_conv1.1.conv_du.0.weight", torch::zeros({})}});
                  }),
                  "res_conv1.1.conv_du.0.weight has shape []");
}

TEST(HostileStateDict, TensorViewsOutsideTheirStorageAreRefused_n) {
  TempDir dir;
  auto view = [&](std::vector<int64_t> sizes, std::vector<int64_t> strides, int64_t offset) {
    PickledTensor t{"w", sizes, strides, offset, "0", 4};
    write_pth(dir / "view.pth", state_dict_pickle({t}), {{"0", {1, 2, 3, 4}}});
    return error_of([&] { read_torch_state_dict(dir / "view.pth"); });
  };
  EXPECT_EQ(view({2, 2}, {2, 1}, 0), "");
  EXPECT_CONTAINS(view({2, 2}, {1}, 0), "2 sizes and 1 strides");
  EXPECT_CONTAINS(view({2, 2}, {-2, 1}, 3), "negative size or stride");
  EXPECT_CONTAINS(view({2, 2}, {2, 1}, 1), "reaches past its storage");
  EXPECT_CONTAINS(view({1 << 30, 1 << 30}, {0, 0}, 0), "tensors add up to");
  EXPECT_CONTAINS(view({4}, {1}, -1), "negative storage offset");
}

// --- 3. Other PyTorch formats
// -----------------------------------------------------------------------

TEST(ForeignFormats, TorchScriptArchiveIsNamed_n) {
  TempDir dir;
  torch::jit::Module module("SAPNet");
  module.register_parameter("w", torch::ones({2}), false);
  module.define("def forward(self, x):\n  return x * self.w\n");
  module.save(dir / "exported.pt");
  const auto msg = error_of([&] { load_model_file(dir / "exported.pt"); });
  EXPECT_CONTAINS(msg, dir / "exported.pt");
  EXPECT_CONTAINS(msg, "TorchScript archive (sapnet export's output");
  EXPECT_CONTAINS(msg, ".sapnet checkpoint");
  EXPECT_CONTAINS(error_of([&] { read_torch_state_dict(dir / "exported.pt"); }), "TorchScript");
}

TEST(ForeignFormats, LegacyTorchSaveIsNamed_n) {
  TempDir dir;
  // The legacy format: pickles of the magic number, the protocol version (1001), system info, then
  // the object and the raw storages. The first pickle identifies it.
  const std::string magic = "\x80\x02\x8a\x0a\x6c\xfc\x9c\x46\xf9\x20\x6a\xa8\x50\x19.";
  const std::string version = bin("\x80\x02M\xe9\x03.");
  std::ofstream(dir / "legacy.pth", std::ios::binary) << magic << version << bin("\x80\x02}q\x00.");
  const auto msg = error_of([&] { load_model_file(dir / "legacy.pth"); });
  EXPECT_CONTAINS(msg, dir / "legacy.pth");
  EXPECT_CONTAINS(msg, "legacy torch.save file");
  EXPECT_CONTAINS(msg, "_use_new_zipfile_serialization=True");
  EXPECT_CONTAINS(error_of([&] { read_torch_state_dict(dir / "legacy.pth"); }), "legacy");

  // Protocol 4 frames its opcodes; a pickle without the magic number is some other Python object.
  std::ofstream(dir / "framed.pth", std::ios::binary)
      << bin("\x80\x04\x95\x0f\x00\x00\x00\x00\x00\x00\x00") << magic.substr(2);
  EXPECT_CONTAINS(error_of([&] { load_model_file(dir / "framed.pth"); }), "legacy torch.save");
  std::ofstream(dir / "pickle.pkl", std::ios::binary) << "\x80\x04K\x01.";
  EXPECT_CONTAINS(error_of([&] { load_model_file(dir / "pickle.pkl"); }), "a Python pickle");
}

// --- 4. Non-finite weights
// --------------------------------------------------------------------------

TEST(NonFiniteWeights, CheckpointWithNaNIsRefused_n) {
  TempDir dir;
  NetworkConfig cfg;
  cfg.stages = 2;
  SAPNet net(cfg);
  ModelFile m;
  m.network = cfg;
  m.weights = weights_of(*net);
  m.weights[3].second = m.weights[3].second.detach().clone();
  m.weights[3].second.view(-1)[1] = std::numeric_limits<float>::quiet_NaN();
  save_checkpoint(dir / "nan.sapnet", m);
  const auto msg = error_of([&] { load_model_file(dir / "nan.sapnet"); });
  EXPECT_CONTAINS(msg, dir / "nan.sapnet");
  EXPECT_CONTAINS(msg, "tensor " + m.weights[3].first + " holds 1 NaN or infinite value(s)");
}

TEST(NonFiniteWeights, StateDictWithInfinityIsRefused_n) {
  TempDir dir;
  write_state_dict(dir / "inf.pth",
                   {{"conv0.0.weight", {32, 6, 3, 3}}, {"res_conv1.0.weight", {1}}},
                   std::numeric_limits<float>::infinity());
  const auto msg = error_of([&] { load_model_file(dir / "inf.pth"); });
  EXPECT_CONTAINS(msg, dir / "inf.pth");
  EXPECT_CONTAINS(msg, "tensor conv0.0.weight holds 1728 NaN or infinite value(s)");
}

// --- Zip archives LibTorch's reader would choke on
// ------------------------------------------------

uint32_t crc32_of(const std::string &data) {
  uint32_t c = 0xFFFFFFFFu;
  for (unsigned char b : data) {
    c ^= b;
    for (int k = 0; k < 8; ++k) c = (c & 1) ? 0xEDB88320u ^ (c >> 1) : c >> 1;
  }
  return c ^ 0xFFFFFFFFu;
}

std::string u16(uint16_t v) {
  return {static_cast<char>(v & 0xff), static_cast<char>(v >> 8)};
}

// A zip of stored records, as minimal as the format allows; `flags` goes into every header.
std::string zip_of(const std::vector<std::pair<std::string, std::string>> &records,
                   uint16_t flags = 0) {
  std::string out, central;
  for (const auto &[name, data] : records) {
    const uint32_t offset = static_cast<uint32_t>(out.size()), crc = crc32_of(data),
                   size = static_cast<uint32_t>(data.size());
    const std::string common = u16(20) + u16(flags) + u16(0) + u32(0) + u32(crc) + u32(size) +
                               u32(size) + u16(static_cast<uint16_t>(name.size())) + u16(0);
    out += u32(0x04034b50) + common + name + data;
    central +=
        u32(0x02014b50) + u16(20) + common + u16(0) + u16(0) + u16(0) + u32(0) + u32(offset) + name;
  }
  const uint16_t n = static_cast<uint16_t>(records.size());
  return out + central + u32(0x06054b50) + u16(0) + u16(0) + u16(n) + u16(n) +
         u32(static_cast<uint32_t>(central.size())) + u32(static_cast<uint32_t>(out.size())) +
         u16(0);
}

TEST(HostileZip, LayoutsLibTorchCannotOpenAreRefused_n) {
  TempDir dir;
  const std::string path = dir / "z.pth", pickle = state_dict_pickle({});
  // Both readers refuse the archive, naming the file and the problem.
  auto expect_refused = [&](const std::string &zip, const std::string &problem) {
    std::ofstream(path, std::ios::binary) << zip;
    for (const auto &msg : {error_of([&] { load_model_file(path); }),
                            error_of([&] { read_torch_state_dict(path); })}) {
      EXPECT_CONTAINS(msg, path);
      EXPECT_CONTAINS(msg, problem);
    }
  };
  // The reference: LibTorch opens it (an empty state dict).
  std::ofstream(path, std::ios::binary) << zip_of({{"a/data.pkl", pickle}, {"a/version", "3\n"}});
  EXPECT_TRUE(read_torch_state_dict(path).empty());
  expect_refused(zip_of({{"data.pkl", pickle}, {"version", "3\n"}}), "records are not in a folder");
  expect_refused(zip_of({{"a/data.pkl", pickle}, {"b/version", "3\n"}}), "no a/version");
  expect_refused(zip_of({{"a/data.pkl", pickle}, {"a/version", "three"}}),
                 "holds no version number");
  expect_refused(zip_of({{"a/data.pkl", pickle}, {"a/version", "99"}}),
                 "format version 99 is newer than this LibTorch reads");
  expect_refused(zip_of({{"a/data.pkl", pickle}, {"a/version", "3"}}, 1), "is encrypted");
  expect_refused(zip_of({}), "an empty zip archive");
}

// --- Forged checkpoint headers
// --------------------------------------------------------------------

void write_checkpoint_header(const std::string &path, const std::string &json,
                             const std::string &record = "") {
  caffe2::serialize::PyTorchStreamWriter writer(path);
  writer.writeRecord("sapnet.json", json.data(), json.size());
  if (!record.empty()) writer.writeRecord("tensors/0", record.data(), record.size());
  writer.writeEndOfFile();
}

TEST(HostileCheckpoint, ForgedHeadersAreRefused_n) {
  TempDir dir;
  const std::string path = dir / "forged.sapnet";
  const std::string net =
      R"("network": {"stages": 2, "channels": 8, "dilations": [1], "cra": false})";
  auto error_with = [&](const std::string &json, const std::string &record = "") {
    write_checkpoint_header(path, json, record);
    return error_of([&] { load_model_file(path); });
  };
  EXPECT_CONTAINS(error_with("[]"), "does not describe a checkpoint");
  // Metadata nested 100,000 deep: copying or printing it would recurse as deep.
  EXPECT_CONTAINS(
      error_with(R"({"format": "sapnet-checkpoint", "version": 1, "tensors": [], )" + net +
                 R"(, "metadata": )" + std::string(100000, '[') + std::string(100000, ']') + "}"),
      "sapnet.json nests deeper than 64 levels");
  EXPECT_CONTAINS(error_with(R"({"format": "sapnet-checkpoint", "version": "one"})"),
                  "version is not an integer");
  EXPECT_CONTAINS(error_with(R"({"format": "sapnet-checkpoint", "version": 1, "network":
      {"stages": 1e300, "channels": 8, "dilations": [1], "cra": false}, "tensors": []})"),
                  "stages must be an integer");
  const std::string tensor = R"({"group": "weights", "name": "w", "dtype": "float32", "record":
      "tensors/0", "shape": )";
  EXPECT_CONTAINS(error_with(R"({"format": "sapnet-checkpoint", "version": 1, )" + net +
                                 R"(, "tensors": [)" + tensor + "[1e300]}]}",
                             std::string(4, '\0')),
                  "shape is not integers");
  EXPECT_CONTAINS(
      error_with(R"({"format": "sapnet-checkpoint", "version": 1, )" + net + R"(, "tensors": [)" +
                     tensor + "[4294967296, 4294967296, 4294967296]}]}",
                 std::string(4, '\0')),
      "impossible shape");
  EXPECT_CONTAINS(error_with(R"({"format": "sapnet-checkpoint", "version": 1, )" + net +
                                 R"(, "tensors": [)" + tensor + "[1]}, " + tensor + "[1]}]}",
                             std::string(4, '\0')),
                  "reuses record tensors/0");
}

// A card holding what JSON cannot say (an infinite PSNR, a model that returned the clean images
// exactly, is stored as null) or shapes another tool wrote is still shown by `sapnet info`; it used
// to stop with a JSON type error, so the model could no longer be inspected at all.
TEST(ModelCard, InfoShowsOddCardsInsteadOfFailing_n) {
  const char *source = std::getenv("SAPNET_SOURCE_DIR");
  ModelFile m =
      load_model_file(std::string(source ? source : ".") + "/model/sapnet-default.sapnet");
  m.metadata["evaluations"]["same"] = {{"psnr", nullptr}, {"ssim", 1.0}, {"count", 2}};
  m.metadata["evaluations"]["odd"] = "a note";
  m.metadata["metrics"] = {{"val", "x"}, {"val_psnr", "n/a"}, {"val_ssim", nullptr}};
  TempDir dir;
  save_checkpoint(dir / "m.sapnet", m);
  const auto r = testing::run_sapnet("info '" + (dir / "m.sapnet") + "'");
  EXPECT_EQ(r.status, 0) << r.out;
  EXPECT_CONTAINS(r.out, "same: inf dB / 1.0000 SSIM (2 images");
  EXPECT_CONTAINS(r.out, "last epoch of training: n/a dB");
}

}  // namespace
}  // namespace sapnet
