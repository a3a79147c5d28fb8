#include "model_file.h"

#include <ATen/ATen.h>
#include <caffe2/serialize/inline_container.h>

#include <cstdio>
#include <cstring>
#include <filesystem>
#include <regex>
#include <set>

#include "error.h"
#include "zip_check.h"

namespace sapnet {
namespace {

constexpr const char *kMetaRecord = "sapnet.json";
constexpr const char *kFormatName = "sapnet-checkpoint";
constexpr int kFormatVersion = 1;

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

ModelFile load_checkpoint(caffe2::serialize::PyTorchStreamReader &archive) {
  at::DataPtr data;
  size_t size = 0;
  std::tie(data, size) = archive.getRecord(kMetaRecord);
  nlohmann::json meta;
  try {
    meta = nlohmann::json::parse(std::string(static_cast<const char *>(data.get()), size));
  } catch (const nlohmann::json::exception &e) {
    throw Error(std::string("corrupt checkpoint header: ") + e.what());
  }
  if (meta.value("format", "") != kFormatName)
    throw Error("sapnet.json does not describe a checkpoint");
  if (meta.value("version", 0) > kFormatVersion)
    throw Error("checkpoint format version " + std::to_string(meta.value("version", 0)) +
                " is newer than this build reads (" + std::to_string(kFormatVersion) + ")");
  ModelFile model;
  model.format = "sapnet checkpoint";
  try {
    model.network = network_from_json(meta.at("network"));
    model.metadata = meta.value("metadata", nlohmann::json::object());
    for (const auto &entry : meta.at("tensors")) {
      const std::string group = entry.at("group"), name = entry.at("name"),
                        record = entry.at("record");
      auto dt = dtype_names().find(entry.at("dtype").get<std::string>());
      if (dt == dtype_names().end()) throw Error("unknown dtype in tensor " + name);
      const std::vector<int64_t> shape = entry.at("shape");
      auto tensor = at::empty(shape, at::TensorOptions().dtype(dt->second));
      std::tie(data, size) = archive.getRecord(record);
      if (size != tensor.nbytes())
        throw Error("tensor " + name + " has " + std::to_string(size) + " bytes, expected " +
                    std::to_string(tensor.nbytes()));
      std::memcpy(tensor.data_ptr(), data.get(), size);
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

NetworkConfig network_from_json(const nlohmann::json &j) {
  NetworkConfig c;
  c.stages = j.at("stages");
  c.channels = j.at("channels");
  c.dilations = j.at("dilations").get<std::vector<int>>();
  c.cra = j.at("cra");
  c.cra_reduction = j.value("cra_reduction", 16);
  c.validate();
  return c;
}

NetworkConfig infer_network(const NamedTensors &weights) {
  std::map<std::string, at::Tensor> by_name(weights.begin(), weights.end());
  auto conv0 = by_name.find("conv0.0.weight");
  if (conv0 == by_name.end())
    throw Error("not a SAPNet/PReNet state dict: no conv0.0.weight (keys start with '" +
                (weights.empty() ? std::string("<none>") : weights.front().first) + "')");
  NetworkConfig c;
  c.channels = static_cast<int>(conv0->second.size(0));
  c.cra = false;
  int units = 0;
  const std::regex unit_key(R"(res_conv(\d+)\.(\d+)\..*)");
  for (auto &kv : weights) {
    std::smatch m;
    if (!std::regex_match(kv.first, m, unit_key)) continue;
    units = std::max(units, std::stoi(m[1]));
    if (kv.first.find(".conv_du.") != std::string::npos) c.cra = true;
  }
  if (units == 0) throw Error("not a SAPNet/PReNet state dict: no res_conv units");
  // A state dict does not record dilations: CRA means the released SAPNet (1, 2, 4, ...), none
  // PReNet.
  c.dilations.clear();
  for (int k = 0; k < units; ++k) c.dilations.push_back(c.cra ? (1 << k) : 1);
  if (c.cra) {
    auto squeeze = by_name.find("res_conv1.1.conv_du.0.weight");
    if (squeeze != by_name.end() && squeeze->second.size(0) > 0)
      c.cra_reduction = static_cast<int>(c.channels / squeeze->second.size(0));
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
    verify_zip_checksums(path);
    caffe2::serialize::PyTorchStreamReader archive(path);
    if (archive.hasRecord(kMetaRecord)) {
      ours = true;
      ModelFile model = load_checkpoint(archive);
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
  }
  try {
    return load_released(path);
  } catch (const Error &e) {
    const std::string what = e.what();
    throw Error(what.rfind(path, 0) == 0 ? what : path + ": " + what);
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

  const std::string tmp = path + ".tmp";
  try {
    {
      caffe2::serialize::PyTorchStreamWriter writer(tmp);
      const std::string header = meta.dump(1);
      writer.writeRecord(kMetaRecord, header.data(), header.size());
      for (auto &[record, tensor] : records)
        writer.writeRecord(record, tensor.data_ptr(), tensor.nbytes());
      writer.writeEndOfFile();
    }
    std::filesystem::rename(tmp, path);
  } catch (const c10::Error &e) {
    std::remove(tmp.c_str());
    throw Error(path + ": cannot write checkpoint (" + first_line(e.what_without_backtrace()) +
                ")");
  } catch (const std::filesystem::filesystem_error &e) {
    std::remove(tmp.c_str());
    throw Error(path + ": cannot write checkpoint (" + e.what() + ")");
  }
}

}  // namespace sapnet
