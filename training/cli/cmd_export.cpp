// sapnet export: a TorchScript module of a model.
#include <cstdio>

#include "commands.h"
#include "export/export.h"

namespace sapnet::cli {

void add_export(CLI::App &app) {
  auto in = std::make_shared<std::string>(), out = std::make_shared<std::string>();
  auto stages = std::make_shared<int>(0);
  auto *cmd =
      app.add_subcommand("export", "Write a TorchScript module (weights included) of a model file");
  cmd->add_option("model", *in, "Model file (checkpoint or released .pth)")->required();
  cmd->add_option("-o,--output", *out, "TorchScript file to write (.pt)")->required();
  cmd->add_option("--stages", *stages, "Recurrent stages to run (0 = all)")
      ->check(CLI::Range(0, 16));
  cmd->callback([in, out, stages] {
    export_torchscript(*in, *out, *stages);
    std::printf("wrote %s\n", out->c_str());
  });
}

}  // namespace sapnet::cli
