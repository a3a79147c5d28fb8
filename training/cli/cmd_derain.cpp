// sapnet derain: images or folders of images in, derained PNGs of the same names out.
#include <cstdio>
#include <filesystem>
#include <map>

#include "commands.h"
#include "data/image.h"
#include "data/paired_folder.h"
#include "error.h"
#include "model_options.h"
#include "train/progress.h"

namespace fs = std::filesystem;

namespace sapnet::cli {
namespace {

struct DerainArgs {
  ModelOptions model;
  std::vector<std::string> inputs;
  std::string outdir;
  bool keep_going = false;
};

// Where each input's result goes: OUTDIR/STEM.png. Two inputs with one stem, or a result that
// would replace an input, stop the command before anything is written.
std::vector<std::string> output_paths(const std::vector<std::string> &files,
                                      const std::string &outdir) {
  auto canonical = [](const std::string &p) {
    std::error_code ec;
    const fs::path c = fs::weakly_canonical(p, ec);
    return ec ? fs::absolute(p).lexically_normal().string() : c.string();
  };
  std::map<std::string, std::string> inputs;  // canonical path -> as given
  for (auto &f : files) inputs.emplace(canonical(f), f);
  std::vector<std::string> outs;
  std::map<std::string, std::string> taken;  // output -> input
  for (auto &f : files) {
    const std::string out = (fs::path(outdir) / fs::path(f).stem()).string() + ".png";
    auto [it, fresh] = taken.emplace(out, f);
    if (!fresh)
      throw Error(it->second + " and " + f + " would both be written to " + out +
                  ": derain them into different folders");
    if (auto in = inputs.find(canonical(out)); in != inputs.end())
      throw Error(out + " would overwrite the input " + in->second +
                  ": choose another output folder");
    outs.push_back(out);
  }
  return outs;
}

void run_derain(const DerainArgs &args) {
  std::vector<std::string> files;
  for (auto &in : args.inputs) {
    auto found = list_images(in);
    if (found.empty()) throw Error(in + ": no images in this folder");
    files.insert(files.end(), found.begin(), found.end());
  }
  const std::vector<std::string> outs = output_paths(files, args.outdir);
  std::error_code ec;
  fs::create_directories(args.outdir, ec);
  if (ec) throw Error(args.outdir + ": cannot create output folder (" + ec.message() + ")");
  auto engine = args.model.make_engine();
  Progress progress("derain", files.size());
  size_t failed = 0;
  for (size_t i = 0; i < files.size(); ++i) {
    try {
      // Planar floats keep 16-bit precision; alpha is carried over untouched.
      PlanarImage img = read_planar_image(files[i]);
      engine->process_planar(img.rgb.data(), img.rgb.data(), img.width, img.height);
      write_planar_image(outs[i], img);
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
