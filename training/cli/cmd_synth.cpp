// sapnet synth: rainy/clean pairs from clean images with the training synthesizer, written as a
// paired folder (input/ + target/) that `sapnet eval` scores: a fixed, reproducible test set (the
// heavy-rain set of the model card) from a seed and a list of images.
#include <cstdio>
#include <filesystem>
#include <nlohmann/json.hpp>
#include <random>

#include "atomic_file.h"
#include "commands.h"
#include "data/image.h"
#include "data/paired_folder.h"
#include "data/patch_source.h"
#include "error.h"
#include "rain.h"
#include "train/progress.h"

namespace fs = std::filesystem;

namespace sapnet::cli {
namespace {

struct SynthArgs {
  std::vector<std::string> inputs;
  std::string outdir;
  double heavy_fraction = 1.0;
  uint64_t seed = 1;
  size_t limit = 0;
  int max_side = 480;
};

nlohmann::json describe(const RainParams &p) {
  return {{"density", p.density},
          {"angle", p.angle},
          {"length", p.length},
          {"width", p.width},
          {"blur", p.blur},
          {"opacity", p.opacity},
          {"haze", p.haze},
          {"layers", p.layers},
          {"drops", p.drops},
          {"drop_radius", p.drop_radius},
          {"blend", p.blend == RainBlend::kAdd ? "add" : "screen"}};
}

// Image i's rain depends on (seed, i) only, so a set can be remade anywhere from its recipe.
std::mt19937_64 rng_for(uint64_t seed, size_t index) {
  std::seed_seq seq{uint32_t(seed), uint32_t(seed >> 32), uint32_t(index), uint32_t(index >> 32)};
  return std::mt19937_64(seq);
}

void run_synth(const SynthArgs &args) {
  std::vector<std::string> files;
  for (auto &in : args.inputs) {
    auto found = list_images(in);
    if (found.empty()) throw Error(in + ": no images in this folder");
    files.insert(files.end(), found.begin(), found.end());
  }
  if (args.limit && files.size() > args.limit) files.resize(args.limit);
  // A set is made once and then trusted: never mix a new set into an old one.
  std::error_code ec;
  if (fs::exists(args.outdir, ec) && !fs::is_empty(args.outdir, ec))
    throw Error(args.outdir + ": exists and is not empty; synth writes a new set into an empty " +
                "or new folder");
  for (const char *sub : {"input", "target"}) {
    fs::create_directories(fs::path(args.outdir) / sub, ec);
    if (ec) throw Error(args.outdir + ": cannot create output folder (" + ec.message() + ")");
  }
  nlohmann::json manifest = {{"seed", args.seed},
                             {"heavy_fraction", args.heavy_fraction},
                             {"max_side", args.max_side},
                             {"pairs", nlohmann::json::array()}};
  Progress progress("synth", files.size());
  for (size_t i = 0; i < files.size(); ++i) {
    RgbImage clean = load_clean_images({files[i]}, 1, false, args.max_side).at(0);
    std::mt19937_64 rng = rng_for(args.seed, i);
    const RainParams params = sample_training_rain(rng, args.heavy_fraction);
    std::vector<float> planar(size_t(3) * clean.width * clean.height);
    RgbImage rainy = clean;
    frame_to_planar_rgb(rainy.view(), planar.data());
    add_rain(planar.data(), rainy.width, rainy.height, params, rng());
    planar_rgb_to_frame(planar.data(), rainy.view(), Rounding::kNearest);
    char name[32];
    std::snprintf(name, sizeof name, "%04zu.png", i + 1);
    write_image((fs::path(args.outdir) / "input" / name).string(), rainy);
    write_image((fs::path(args.outdir) / "target" / name).string(), clean);
    // File names only: the manifest says what the set is made of, not where it was made.
    manifest["pairs"].push_back({{"name", name},
                                 {"source", fs::path(files[i]).filename().string()},
                                 {"width", clean.width},
                                 {"height", clean.height},
                                 {"rain", describe(params)}});
    progress.update(i + 1);
  }
  progress.finish();
  const std::string text = manifest.dump(1) + "\n";
  AtomicFile file((fs::path(args.outdir) / "rain.json").string());
  file.write(text.data(), text.size());
  file.commit();
  std::printf("wrote %zu pair(s) to %s (input/, target/, rain.json)\n", files.size(),
              args.outdir.c_str());
}

}  // namespace

void add_synth(CLI::App &app) {
  auto args = std::make_shared<SynthArgs>();
  auto *cmd = app.add_subcommand(
      "synth",
      "Make a paired test set (input/ + target/ PNGs, rain.json) from clean images with the "
      "training synthesizer; image i's rain depends on (--seed, i) only");
  cmd->add_option("inputs", args->inputs, "Clean image files or folders (taken in name order)")
      ->required();
  cmd->add_option("-o,--output", args->outdir, "New or empty output folder")->required();
  cmd->add_option("--heavy-fraction", args->heavy_fraction,
                  "Share of the images given heavy rain (streak layers, haze, lens drops); the "
                  "rest get light rain")
      ->check(CLI::Range(0.0, 1.0))
      ->capture_default_str();
  cmd->add_option("--seed", args->seed, "Seed of the whole set")->capture_default_str();
  cmd->add_option("--limit", args->limit, "Use only the first N images (0 = all)");
  cmd->add_option("--max-side", args->max_side,
                  "Shrink images so that the longer side is at most this (0 = as they are)")
      ->check(CLI::Range(0, 65536))
      ->capture_default_str();
  cmd->callback([args] { run_synth(*args); });
}

}  // namespace sapnet::cli
