// sapnet derain: images or folders of images in, derained PNGs of the same names out.
#include <cstdio>
#include <filesystem>

#include "commands.h"
#include "error.h"
#include "image.h"
#include "model_options.h"
#include "paired_folder.h"
#include "progress.h"

namespace fs = std::filesystem;

namespace sapnet::cli {
namespace {

struct DerainArgs {
  ModelOptions model;
  std::vector<std::string> inputs;
  std::string outdir;
  bool keep_going = false;
};

void run_derain(const DerainArgs &args) {
  std::vector<std::string> files;
  for (auto &in : args.inputs) {
    auto found = list_images(in);
    if (found.empty()) throw Error(in + ": no images in this folder");
    files.insert(files.end(), found.begin(), found.end());
  }
  std::error_code ec;
  fs::create_directories(args.outdir, ec);
  if (ec) throw Error(args.outdir + ": cannot create output folder (" + ec.message() + ")");
  auto engine = args.model.make_engine();
  Progress progress("derain", files.size());
  size_t failed = 0;
  for (size_t i = 0; i < files.size(); ++i) {
    try {
      RgbImage img = read_image(files[i]);
      engine->process(img.view(), img.view());
      write_image((fs::path(args.outdir) / fs::path(files[i]).stem()).string() + ".png", img);
    } catch (const Error &e) {
      if (!args.keep_going) throw;
      std::fprintf(stderr, "\nsapnet: warning: skipped %s\n", e.what());
      ++failed;
    }
    progress.update(i + 1);
  }
  progress.finish();
  std::printf("wrote %zu image(s) to %s%s\n", files.size() - failed, args.outdir.c_str(),
              failed ? (" (" + std::to_string(failed) + " skipped)").c_str() : "");
}

}  // namespace

void add_derain(CLI::App &app) {
  auto args = std::make_shared<DerainArgs>();
  auto *cmd =
      app.add_subcommand("derain", "Derain images (files or folders) into PNGs of the same names");
  cmd->add_option("inputs", args->inputs, "Image files or folders of images")->required();
  cmd->add_option("-o,--output", args->outdir, "Output folder (created if missing)")->required();
  cmd->add_flag("--keep-going", args->keep_going,
                "Skip unreadable images with a warning instead of stopping");
  args->model.add_to(*cmd);
  cmd->callback([args] { run_derain(*args); });
}

}  // namespace sapnet::cli
