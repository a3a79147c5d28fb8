// Subcommands of the `sapnet` command; each file adds one to the app.
#pragma once

#include <CLI/CLI.hpp>

namespace sapnet::cli {

void add_derain(CLI::App &app);
void add_eval(CLI::App &app);
void add_eval_detect(CLI::App &app);
void add_eval_segment(CLI::App &app);
void add_info(CLI::App &app);
void add_import(CLI::App &app);
void add_train(CLI::App &app);
void add_pack(CLI::App &app);
void add_export(CLI::App &app);
void add_bench(CLI::App &app);
void add_synth(CLI::App &app);
void add_eval_video(CLI::App &app);
void add_rain_score(CLI::App &app);

}  // namespace sapnet::cli
