#include "model_options.h"

#include <algorithm>
#include <cstdio>

#include "host_resources.h"

namespace sapnet::cli {

void ModelOptions::add_to(CLI::App &cmd) {
  cmd.add_option("-m,--model", engine.model_path,
                 "Model file: a sapnet checkpoint or the released SAPNet/PReNet .pth (default: the "
                 "bundled model)");
  cmd.add_option("--device", engine.device, "auto, cpu, cuda or cuda:N")->capture_default_str();
  cmd.add_option_function<std::string>(
         "--precision",
         [this](const std::string &name) { engine.precision = parse_precision(name); },
         "auto, fp32, fp16 or bf16 (fp16/bf16 need CUDA; default fp32)")
      ->check(CLI::IsMember({"auto", "fp32", "fp16", "bf16"}));
  cmd.add_option("--stages", engine.stages, "Recurrent stages to run (0 = all; fewer is faster)")
      ->check(CLI::Range(0, 16));
  cmd.add_option("--tile-size", engine.tile_size,
                 "Derain large images as overlapping tiles of this side (0 = whole image; less "
                 "memory)")
      ->check(CLI::Range(0, 1 << 16));
  cmd.add_option("--tile-overlap", tile_overlap,
                 "Overlap of neighbouring tiles (default: a quarter of the tile, at most 32)")
      ->check(CLI::Range(0, 1 << 15));
  cmd.add_option("--threads", engine.threads, "CPU threads (0 = every usable core)")
      ->check(CLI::Range(0, 100000));
}

EngineOptions ModelOptions::engine_options() const {
  EngineOptions options = engine;
  options.tile_overlap = tile_overlap >= 0 ? tile_overlap : std::min(32, engine.tile_size / 4);
  return options;
}

std::unique_ptr<Engine> ModelOptions::make_engine() const {
  if (engine.model_path.empty())
    std::fprintf(stderr, "sapnet: no --model given, using the bundled default model\n");
  std::string note;
  bounded_threads(engine.threads, &note);
  if (!note.empty()) std::fprintf(stderr, "sapnet: --threads: %s\n", note.c_str());
  auto e = std::make_unique<Engine>(engine_options());
  std::fprintf(stderr, "sapnet: %s: %s, %s, %d stage(s), %s %s\n", e->model_path().c_str(),
               e->model_format().c_str(), e->network().describe().c_str(), e->stages(),
               e->device().c_str(), precision_name(e->precision()));
  return e;
}

}  // namespace sapnet::cli
