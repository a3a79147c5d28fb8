#include "model_file.h"

#include <ATen/ATen.h>
#include <caffe2/serialize/inline_container.h>

#include <cstdio>
#include <cstring>
#include <filesystem>
#include <set>

#include "atomic_file.h"
#include "error.h"
#include "zip_check.h"

namespace sapnet {
namespace {

constexpr const char *kMetaRecord = "sapnet.json";
constexpr const char *kFormatName = "sapnet-checkpoint";
constexpr int kFormatVersion = 1;
constexpr int kMaxJsonDepth = 64;

const std::map<std::string, at::ScalarType> &dtype_names() {
  static const std::map<std::string, at::ScalarType> names = {
      {"float32", at::kFloat},     {"float64", at::kDouble}, {"float16", at::kHalf},
      {"bfloat16", at::kBFloat16}, {"int64", at::kLong},     {"int32", at::kInt},
      {"uint8", at::kByte},        {"bool", at::kBool}};
  return names;
}

std::string dtype_name(at::ScalarType t) {
  for (auto &[name, type] : dtype_names())
    if (type == t) return name;
  throw Error(std::string("cannot store tensors of type ") + c10::toString(t));
}

std::string first_line(const std::string &what) {
  return what.substr(0, what.find('\n'));
}

// The byte size of a tensor of `shape` and `dtype`; throws for negative or overflowing sizes.
size_t tensor_bytes(const std::vector<int64_t> &shape, at::ScalarType dtype,
                    const std::string &name) {
  if (shape.size() > 16)
    throw Error("tensor " + name + " has " + std::to_string(shape.size()) + " dimensions");
  int64_t bytes = static_cast<int64_t>(c10::elementSize(dtype));
  for (int64_t s : shape)
    if (s < 0 || __builtin_mul_overflow(bytes, s, &bytes))
      throw Error("tensor " + name + " has an impossible shape");
  return static_cast<size_t>(bytes);
}

ModelFile load_checkpoint(caffe2::serialize::PyTorchStreamReader &archive) {
  at::DataPtr data;
  size_t size = 0;
  std::tie(data, size) = archive.getRecord(kMetaRecord);
  ModelFile model;
  model.format = "sapnet checkpoint";
  try {
    const nlohmann::json meta =
        nlohmann::json::parse(std::string(static_cast<const char *>(data.get()), size),
                              [](int depth, nlohmann::json::parse_event_t, nlohmann::json &) {
                                // Copying and printing json recurse once per level.
                                if (depth > kMaxJsonDepth)
                                  throw Error("sapnet.json nests deeper than " +
                                              std::to_string(kMaxJsonDepth) + " levels");
                                return true;
                              });
    if (!meta.is_object() || meta.value("format", "") != kFormatName)
      throw Error("sapnet.json does not describe a checkpoint");
    const auto version_field = meta.find("version");
    if (version_field != meta.end() && !version_field->is_number_integer())
      throw Error("sapnet.json: version is not an integer");
    const int64_t version = version_field == meta.end() ? 0 : version_field->get<int64_t>();
    if (version > kFormatVersion)
      throw Error("checkpoint format version " + std::to_string(version) +
                  " is newer than this build reads (" + std::to_string(kFormatVersion) + ")");
    model.network = network_from_json(meta.at("network"));
    model.metadata = meta.value("metadata", nlohmann::json::object());
    std::set<std::string> records;
    for (const auto &entry : meta.at("tensors")) {
      const std::string group = entry.at("group"), name = entry.at("name"),
                        record = entry.at("record");
      auto dt = dtype_names().find(entry.at("dtype").get<std::string>());
      if (dt == dtype_names().end()) throw Error("unknown dtype in tensor " + name);
      // Each record once: the tensors then add up to no more than the file.
      if (!records.insert(record).second)
        throw Error("tensor " + name + " reuses record " + record);
      const nlohmann::json &dims = entry.at("shape");
      if (!dims.is_array()) throw Error("tensor " + name + ": shape is not a list");
      std::vector<int64_t> shape;
      for (const auto &d : dims) {
        if (!d.is_number_integer()) throw Error("tensor " + name + ": shape is not integers");
        shape.push_back(d.get<int64_t>());
      }
      const size_t expected = tensor_bytes(shape, dt->second, name);
      std::tie(data, size) = archive.getRecord(record);
      if (size != expected)
        throw Error("tensor " + name + " has " + std::to_string(size) + " bytes, expected " +
                    std::to_string(expected));
      if (dt->second == at::kBool)
        for (size_t i = 0; i < size; ++i)
          if (static_cast<const uint8_t *>(data.get())[i] > 1)
            throw Error("tensor " + name + " holds a boolean that is neither 0 nor 1");
      auto tensor = at::empty(shape, at::TensorOptions().dtype(dt->second));
      if (size > 0) std::memcpy(tensor.data_ptr(), data.get(), size);
      if (group == "weights")
        model.weights.emplace_back(name, tensor);
      else
        model.extra[group].emplace_back(name, tensor);
    }
  } catch (const nlohmann::json::exception &e) {
    throw Error(std::string("corrupt checkpoint header: ") + e.what());
  }
  return model;
}

ModelFile load_released(const std::string &path) {
  ModelFile model;
  model.weights = read_torch_state_dict(path);
  bool data_parallel = !model.weights.empty();
  for (auto &kv : model.weights) data_parallel = data_parallel && kv.first.rfind("module.", 0) == 0;
  if (data_parallel)
    for (auto &kv : model.weights) kv.first = kv.first.substr(7);
  model.network = infer_network(model.weights);
  model.format = "PyTorch state dict (" + std::string(model.network.cra ? "SAPNet" : "PReNet") +
                 " layout" + (data_parallel ? ", DataParallel" : "") + ")";
  model.metadata["source"] = std::filesystem::path(path).filename().string();
  return model;
}

}  // namespace

nlohmann::json network_to_json(const NetworkConfig &c) {
  return {{"stages", c.stages},
          {"channels", c.channels},
          {"dilations", c.dilations},
          {"cra", c.cra},
          {"cra_reduction", c.cra_reduction}};
}

namespace {

// An integer field in [lo, hi] (json's own conversion would truncate or overflow silently).
int bounded_int(const nlohmann::json &v, const char *key, int lo, int hi) {
  if (!v.is_number_integer() || v.get<int64_t>() < lo || v.get<int64_t>() > hi)
    throw Error(std::string("network: ") + key + " must be an integer in " + std::to_string(lo) +
                ".." + std::to_string(hi) + ", got " + v.dump());
  return static_cast<int>(v.get<int64_t>());
}

}  // namespace

NetworkConfig network_from_json(const nlohmann::json &j) {
  if (!j.is_object()) throw Error("network: expected a JSON object, got " + j.dump());
  NetworkConfig c;
  c.stages = bounded_int(j.at("stages"), "stages", 0, 1 << 16);
  c.channels = bounded_int(j.at("channels"), "channels", 0, 1 << 16);
  const nlohmann::json &dilations = j.at("dilations");
  if (!dilations.is_array() || dilations.size() > 64)
    throw Error("network: dilations must be a list of at most 64 integers");
  c.dilations.clear();
  for (const auto &d : dilations) c.dilations.push_back(bounded_int(d, "dilation", 0, 1 << 16));
  if (!j.at("cra").is_boolean()) throw Error("network: cra must be true or false");
  c.cra = j.at("cra").get<bool>();
  if (j.contains("cra_reduction"))
    c.cra_reduction = bounded_int(j.at("cra_reduction"), "cra_reduction", 0, 1 << 16);
  c.validate();
  return c;
}

namespace {

// k for a key "res_conv<k>.<i>.<name>" (a progressive dilated unit's tensor), else 0. Parsed by
// hand: std::regex recurses once per character and overflows the stack on a long key.
int unit_number(const std::string &key) {
  constexpr int kMaxUnits = 64;
  const std::string prefix = "res_conv";
  if (key.compare(0, prefix.size(), prefix) != 0) return 0;
  auto digits_end = [&](size_t p) {
    while (p < key.size() && key[p] >= '0' && key[p] <= '9') ++p;
    return p;
  };
  const size_t unit_end = digits_end(prefix.size());
  if (unit_end == prefix.size() || unit_end >= key.size() || key[unit_end] != '.') return 0;
  const size_t layer_end = digits_end(unit_end + 1);
  if (layer_end == unit_end + 1 || layer_end >= key.size() || key[layer_end] != '.') return 0;
  const std::string digits = key.substr(prefix.size(), unit_end - prefix.size());
  if (digits.size() > 4 || std::stoi(digits) < 1 || std::stoi(digits) > kMaxUnits)
    throw Error("key " + key + ": unit number out of range (units are numbered 1.." +
                std::to_string(kMaxUnits) + ")");
  return std::stoi(digits);
}

}  // namespace

NetworkConfig infer_network(const NamedTensors &weights) {
  std::map<std::string, at::Tensor> by_name(weights.begin(), weights.end());
  auto conv0 = by_name.find("conv0.0.weight");
  if (conv0 == by_name.end())
    throw Error("not a SAPNet/PReNet state dict: no conv0.0.weight (keys start with '" +
                (weights.empty() ? std::string("<none>") : weights.front().first) + "')");
  const at::Tensor &first = conv0->second;
  if (first.dim() != 4 || first.size(0) < 1 || first.size(0) > 4096)
    throw Error("conv0.0.weight has shape " + c10::str(first.sizes()) +
                ", expected [channels, 6, 3, 3]");
  NetworkConfig c;
  c.channels = static_cast<int>(first.size(0));
  c.cra = false;
  int units = 0;
  for (auto &kv : weights) {
    units = std::max(units, unit_number(kv.first));
    if (unit_number(kv.first) > 0 && kv.first.find(".conv_du.") != std::string::npos) c.cra = true;
  }
  if (units == 0) throw Error("not a SAPNet/PReNet state dict: no res_conv units");
  // A state dict does not record dilations: CRA means the released SAPNet (1, 2, 4, ...), none
  // PReNet. Beyond what validate() accepts the dilation stays out of range, without overflow.
  c.dilations.clear();
  for (int k = 0; k < units; ++k) c.dilations.push_back(c.cra ? (1 << std::min(k, 16)) : 1);
  if (c.cra) {
    auto squeeze = by_name.find("res_conv1.1.conv_du.0.weight");
    if (squeeze != by_name.end()) {
      if (squeeze->second.dim() < 1)
        throw Error("res_conv1.1.conv_du.0.weight has shape " + c10::str(squeeze->second.sizes()) +
                    ", expected [channels / reduction, channels, 1, 1]");
      if (squeeze->second.size(0) > 0)
        c.cra_reduction = static_cast<int>(c.channels / squeeze->second.size(0));
    }
  }
  c.validate();
  return c;
}

ModelFile load_model_file(const std::string &path) {
  std::error_code ec;
  if (!std::filesystem::exists(path, ec)) throw Error(path + ": no such file");
  if (std::filesystem::is_directory(path, ec))
    throw Error(path + ": is a folder, not a model file");
  bool ours = false;
  try {
    check_torch_archive(path);
    caffe2::serialize::PyTorchStreamReader archive(path);
    if (archive.hasRecord(kMetaRecord)) {
      ours = true;
      ModelFile model = load_checkpoint(archive);
      check_finite(model.weights);
      if (!model.metadata.contains("source"))
        model.metadata["source"] = std::filesystem::path(path).filename().string();
      return model;
    }
    if (!archive.hasRecord("data.pkl"))
      throw Error("a zip file, but neither a sapnet checkpoint nor a torch.save file");
  } catch (const Error &e) {
    throw Error(path + ": " + e.what());
  } catch (const c10::Error &e) {
    throw Error(path + ": not a model file: " +
                (ours ? "damaged checkpoint (" : "not a readable zip archive (") +
                first_line(e.what_without_backtrace()) + ")");
  } catch (const std::exception &e) {  // e.g. std::out_of_range from LibTorch's version parsing
    throw Error(path + ": not a model file: " +
                (ours ? "damaged checkpoint (" : "not a readable zip archive (") +
                first_line(e.what()) + ")");
  }
  try {
    return load_released(path);
  } catch (const Error &e) {
    const std::string what = e.what();
    throw Error(what.rfind(path, 0) == 0 ? what : path + ": " + what);
  } catch (const std::exception &e) {
    throw Error(path + ": " + first_line(e.what()));
  }
}

void save_checkpoint(const std::string &path, const ModelFile &model) {
  nlohmann::json meta = {{"format", kFormatName},
                         {"version", kFormatVersion},
                         {"network", network_to_json(model.network)},
                         {"metadata", model.metadata},
                         {"tensors", nlohmann::json::array()}};
  std::vector<std::pair<std::string, at::Tensor>> records;
  auto add = [&](const std::string &group, const NamedTensors &tensors) {
    for (auto &[name, tensor] : tensors) {
      const std::string record = "tensors/" + std::to_string(records.size());
      auto cpu = tensor.detach().to(at::kCPU).contiguous();
      meta["tensors"].push_back({{"group", group},
                                 {"name", name},
                                 {"dtype", dtype_name(cpu.scalar_type())},
                                 {"shape", cpu.sizes().vec()},
                                 {"record", record}});
      records.emplace_back(record, cpu);
    }
  };
  add("weights", model.weights);
  for (auto &[group, tensors] : model.extra) add(group, tensors);

  AtomicFile file(path);
  try {
    caffe2::serialize::PyTorchStreamWriter writer(
        [&file](const void *data, size_t size) { return file.write(data, size); });
    // Names on the card come from file names, which need not be UTF-8: such bytes are written as
    // U+FFFD rather than failing the save of a model that trained for hours.
    const std::string header = meta.dump(1, ' ', false, nlohmann::json::error_handler_t::replace);
    writer.writeRecord(kMetaRecord, header.data(), header.size());
    for (auto &[record, tensor] : records)
      writer.writeRecord(record, tensor.data_ptr(), tensor.nbytes());
    writer.writeEndOfFile();
  } catch (const c10::Error &e) {
    throw Error(path + ": cannot write checkpoint (" + first_line(e.what_without_backtrace()) +
                ")");
  }
  file.commit();
}

void record_evaluation(const std::string &path, const NamedTensors &scored_weights,
                       const std::string &key, const nlohmann::json &scores) {
  ModelFile model = load_model_file(path);
  bool same = model.weights.size() == scored_weights.size();
  for (size_t i = 0; same && i < scored_weights.size(); ++i)
    same = model.weights[i].first == scored_weights[i].first &&
           model.weights[i].second.scalar_type() == scored_weights[i].second.scalar_type() &&
           model.weights[i].second.sizes() == scored_weights[i].second.sizes() &&
           at::equal(model.weights[i].second, scored_weights[i].second);
  if (!same)
    throw Error(path +
                ": its weights changed while they were being scored (did a training run "
                "save into it?); the scores were not recorded");
  model.metadata["evaluations"][key] = scores;
  save_checkpoint(path, model);
}

}  // namespace sapnet
