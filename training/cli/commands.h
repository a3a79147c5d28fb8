// Subcommands of the `sapnet` command; each file adds one to the app.
#pragma once

#include <CLI/CLI.hpp>
#include <string>
#include <vector>

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
void add_picture(CLI::App &app);

// The command's arguments (argv[1..]), kept for subcommands that start copies of the command
// (`train --nproc`).
void set_command_line(int argc, char **argv);
const std::vector<std::string> &command_line();

}  // namespace sapnet::cli
