// sapnet info / sapnet import: inspect a model file; turn released weights into a checkpoint.
#include <cstdio>
#include <filesystem>

#include "commands.h"
#include "error.h"
#include "model_file.h"

namespace sapnet::cli {
namespace {

void run_info(const std::string &path, bool json) {
  ModelFile m = load_model_file(path);
  int64_t params = 0;
  for (auto &kv : m.weights) params += kv.second.numel();
  if (json) {
    nlohmann::json out = {{"file", path},
                          {"format", m.format},
                          {"network", network_to_json(m.network)},
                          {"parameters", params},
                          {"metadata", m.metadata}};
    std::printf("%s\n", out.dump(2).c_str());
    return;
  }
  std::printf("file        %s\nformat      %s\nnetwork     %s\nparameters  %lld in %zu tensors\n",
              path.c_str(), m.format.c_str(), m.network.describe().c_str(),
              static_cast<long long>(params), m.weights.size());
  for (auto &[group, tensors] : m.extra)
    std::printf("extra       %s: %zu tensors\n", group.c_str(), tensors.size());
  for (auto &[key, value] : m.metadata.items())
    std::printf("%-11s %s\n", key.c_str(), value.dump().c_str());
}

void run_import(const std::string &in, const std::string &out, int stages) {
  ModelFile m = load_model_file(in);
  if (stages > 0) m.network.stages = stages;
  m.extra.clear();
  m.metadata["imported_from"] = std::filesystem::path(in).filename().string();
  m.metadata["imported_format"] = m.format;
  save_checkpoint(out, m);
  std::printf("wrote %s: %s\n", out.c_str(), m.network.describe().c_str());
}

}  // namespace

void add_info(CLI::App &app) {
  auto path = std::make_shared<std::string>();
  auto json = std::make_shared<bool>(false);
  auto *cmd = app.add_subcommand(
      "info", "Describe a model file: format, architecture, provenance, metrics");
  cmd->add_option("model", *path, "Model file")->required();
  cmd->add_flag("--json", *json, "Print JSON");
  cmd->callback([path, json] { run_info(*path, *json); });
}

void add_import(CLI::App &app) {
  auto in = std::make_shared<std::string>(), out = std::make_shared<std::string>();
  auto stages = std::make_shared<int>(0);
  auto *cmd = app.add_subcommand(
      "import",
      "Convert released SAPNet/PReNet weights (.pth, no Python needed) into a sapnet checkpoint");
  cmd->add_option("weights", *in, "Released .pth file (or a checkpoint)")->required();
  cmd->add_option("-o,--output", *out, "Checkpoint to write")->required();
  cmd->add_option("--stages", *stages, "Record this many recurrent stages (default: 6)")
      ->check(CLI::Range(1, 16));
  cmd->callback([in, out, stages] { run_import(*in, *out, *stages); });
}

}  // namespace sapnet::cli
