// sapnet: derain, evaluate, inspect and import SAPNet models from the command line.
#include <cstdio>

#include "commands.h"
#include "error.h"

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
  sapnet::cli::add_info(app);
  sapnet::cli::add_import(app);
  sapnet::cli::add_train(app);
  sapnet::cli::add_pack(app);
  sapnet::cli::add_export(app);
  sapnet::cli::add_bench(app);
  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError &e) {  // also CLI::RuntimeError: a subcommand's exit status
    return app.exit(e);
  } catch (const sapnet::Error &e) {
    std::fprintf(stderr, "sapnet: error: %s\n", e.what());
    return 1;
  }
  return 0;
}
