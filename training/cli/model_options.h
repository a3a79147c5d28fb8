// Options every model-running subcommand shares (--model, --device, --threads, --stages) and the
// Engine they build.
#pragma once

#include <CLI/CLI.hpp>
#include <memory>

#include "engine.h"

namespace sapnet::cli {

struct ModelOptions {
  EngineOptions engine;
  void add_to(CLI::App &cmd);
  // Builds the Engine and says on stderr which model runs where.
  std::unique_ptr<Engine> make_engine() const;
};

}  // namespace sapnet::cli
