#include "model_options.h"

#include <cstdio>

namespace sapnet::cli {

void ModelOptions::add_to(CLI::App &cmd) {
  cmd.add_option("-m,--model", engine.model_path,
                 "Model file: a sapnet checkpoint or the released SAPNet/PReNet .pth (default: the "
                 "bundled model)");
  cmd.add_option("--device", engine.device, "auto, cpu, cuda or cuda:N")->capture_default_str();
  cmd.add_option("--precision", engine.precision, "auto, fp32, fp16 or bf16 (fp16/bf16 need CUDA)")
      ->capture_default_str();
  cmd.add_option("--stages", engine.stages, "Recurrent stages to run (0 = all; fewer is faster)")
      ->check(CLI::Range(0, 16));
  cmd.add_option("--threads", engine.threads, "CPU threads (0 = LibTorch's default)")
      ->check(CLI::NonNegativeNumber);
}

std::unique_ptr<Engine> ModelOptions::make_engine() const {
  if (engine.model_path.empty())
    std::fprintf(stderr, "sapnet: no --model given, using the bundled default model\n");
  auto e = std::make_unique<Engine>(engine);
  std::fprintf(stderr, "sapnet: %s: %s, %s, %d stage(s), %s %s\n", e->model_path().c_str(),
               e->model_format().c_str(), e->network().describe().c_str(), e->stages(),
               e->device().c_str(), e->precision().c_str());
  return e;
}

}  // namespace sapnet::cli
