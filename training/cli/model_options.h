// Options every model-running subcommand shares (--model, --device, --threads, --stages,
// --tile-size) and the Engine they build.
#pragma once

#include <CLI/CLI.hpp>
#include <memory>

#include "engine.h"

namespace sapnet::cli {

struct ModelOptions {
  EngineOptions engine;
  int tile_overlap = -1;  // -1: derived from the tile size
  void add_to(CLI::App &cmd);
  // `engine` with the derived defaults filled in.
  EngineOptions engine_options() const;
  // Builds the Engine and says on stderr which model runs where.
  std::unique_ptr<Engine> make_engine() const;
};

}  // namespace sapnet::cli
