// sapnet: derain, evaluate, inspect and import SAPNet models from the command line.
#include <cstdio>
#include <exception>
#include <string>

#include "cli/failure.h"
#include "commands.h"

namespace {

// CLI11 says "A subcommand is required" for a misspelt one; name it and list the real ones.
bool unknown_subcommand(const CLI::App &app, int argc, char **argv) {
  if (argc < 2 || argv[1][0] == '-') return false;
  std::string known;
  for (const CLI::App *sub : app.get_subcommands([](const CLI::App *) { return true; })) {
    if (sub->get_name() == argv[1]) return false;
    known += (known.empty() ? "" : ", ") + sub->get_name();
  }
  std::fprintf(stderr, "sapnet: error: unknown command '%s' (commands: %s; see sapnet --help)\n",
               argv[1], known.c_str());
  return true;
}

}  // namespace

namespace sapnet::cli {
namespace {
std::vector<std::string> &arguments() {
  static std::vector<std::string> args;
  return args;
}
}  // namespace

void set_command_line(int argc, char **argv) {
  arguments().assign(argv + 1, argv + argc);
}
const std::vector<std::string> &command_line() {
  return arguments();
}

}  // namespace sapnet::cli

int main(int argc, char **argv) {
  CLI::App app{
      "SAPNet deraining: derain images, train and evaluate models, inspect, import and export "
      "weights"};
  app.require_subcommand(1);
  app.set_version_flag("--version", std::string("sapnet ") + SAPNET_VERSION);
  sapnet::cli::add_derain(app);
  sapnet::cli::add_eval(app);
  sapnet::cli::add_eval_detect(app);
  sapnet::cli::add_eval_segment(app);
  sapnet::cli::add_eval_video(app);
  sapnet::cli::add_rain_score(app);
  sapnet::cli::add_picture(app);
  sapnet::cli::add_info(app);
  sapnet::cli::add_import(app);
  sapnet::cli::add_train(app);
  sapnet::cli::add_pack(app);
  sapnet::cli::add_export(app);
  sapnet::cli::add_bench(app);
  sapnet::cli::add_synth(app);
  if (unknown_subcommand(app, argc, argv)) return 2;
  sapnet::cli::set_command_line(argc, argv);
  // Every failure ends as one line and a nonzero status, never an abort.
  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError &e) {  // also CLI::RuntimeError: a subcommand's exit status
    return app.exit(e);
  } catch (...) {
    std::fprintf(stderr, "sapnet: error: %s\n",
                 sapnet::cli::failure_message(std::current_exception()).c_str());
    return 1;
  }
  return 0;
}
