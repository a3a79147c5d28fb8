// sapnet eval: mean PSNR/SSIM of a model (or of the rainy inputs) on a paired dataset folder.
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <nlohmann/json.hpp>

#include "commands.h"
#include "data/image.h"
#include "data/paired_folder.h"
#include "error.h"
#include "eval/evaluate.h"
#include "model_file.h"
#include "model_options.h"
#include "train/progress.h"

namespace sapnet::cli {
namespace {

struct EvalArgs {
  ModelOptions model;
  std::string dataset;
  bool identity = false;
  bool json = false;
  bool record = false;
  size_t limit = 0;
};

// --record's target, checked before any image is scored: a checkpoint (released weights have no
// card) in a folder this process may write to. Returns the weights about to be scored: the record
// is written only if the file still holds them.
NamedTensors check_recordable(const std::string &model_path) {
  ModelFile model = load_model_file(model_path);
  if (model.format != "sapnet checkpoint")
    throw Error(model_path + ": --record needs a sapnet checkpoint (sapnet import it first)");
  std::filesystem::path folder = std::filesystem::path(model_path).parent_path();
  if (folder.empty()) folder = ".";
  if (access(folder.c_str(), W_OK) != 0)
    throw Error(model_path + ": --record cannot write into " + folder.string() + " (" +
                std::strerror(errno) + ")");
  return std::move(model.weights);
}

// Writes the scores into the checkpoint's card ("evaluations"), so that `sapnet info` says what the
// model scored: keyed by the dataset's folder name, and the exit when fewer stages ran.
void record_scores(const Engine &engine, const NamedTensors &scored_weights,
                   const std::string &dataset, const nlohmann::json &scores) {
  std::string key = dataset_name(dataset);
  if (engine.stages() != engine.network().stages)
    key += " (" + std::to_string(engine.stages()) + " stages)";
  record_evaluation(engine.model_path(), scored_weights, key, scores);
  std::fprintf(stderr, "sapnet: recorded in %s as \"%s\"\n", engine.model_path().c_str(),
               key.c_str());
}

void run_eval(const EvalArgs &args) {
  if (args.record && args.identity) throw Error("--record needs a model (not --identity)");
  auto pairs = find_pairs(args.dataset);
  if (args.limit && pairs.size() > args.limit) pairs.resize(args.limit);
  // The weights to record against are read before the Engine loads them: a file replaced in
  // between is then caught as well.
  NamedTensors scored_weights;
  if (args.record) {
    const std::string &path = args.model.engine.model_path;
    scored_weights = check_recordable(path.empty() ? default_model_path() : path);
  }
  std::unique_ptr<Engine> engine;
  if (!args.identity) engine = args.model.make_engine();
  Progress progress(args.identity ? "eval (rainy inputs)" : "eval", pairs.size());
  const auto read_pair = [&](size_t i) {
    std::pair<RgbImage, RgbImage> pair{read_image(pairs[i].rainy), read_image(pairs[i].clean)};
    if (pair.first.width != pair.second.width || pair.first.height != pair.second.height)
      throw Error(pairs[i].rainy + " and " + pairs[i].clean + " differ in size");
    return pair;
  };
  const Scores scores = evaluate_pairs(
      engine.get(), pairs.size(), read_pair,
      [&](const Scores &m) {
        char note[64];
        std::snprintf(note, sizeof note, "psnr %.2f ssim %.4f", m.psnr, m.ssim);
        progress.update(m.count, note);
      },
      [&](size_t i) { return pairs[i].rainy; });
  progress.finish();
  // The scores first: a record that fails still leaves them on the screen.
  if (args.json) {
    nlohmann::json out = {{"psnr", scores.psnr}, {"ssim", scores.ssim}, {"count", pairs.size()}};
    std::printf("%s\n", out.dump().c_str());
  } else {
    std::printf("%-10s %s\n%-10s %zu\n%-10s %.2f dB\n%-10s %.4f\n", "dataset", args.dataset.c_str(),
                "images", pairs.size(), "PSNR", scores.psnr, "SSIM", scores.ssim);
  }
  std::fflush(stdout);
  if (args.record)
    record_scores(*engine, scored_weights, args.dataset,
                  {{"psnr", scores.psnr},
                   {"ssim", scores.ssim},
                   {"count", pairs.size()},
                   {"stages", engine->stages()},
                   {"precision", precision_name(engine->precision())},
                   {"device", engine->device()}});
}

}  // namespace

void add_eval(CLI::App &app) {
  auto args = std::make_shared<EvalArgs>();
  auto *cmd = app.add_subcommand(
      "eval", "Mean PSNR/SSIM on a paired folder (input/ + target/, or rain-N + norain-N)");
  cmd->add_option("dataset", args->dataset, "Dataset folder")->required();
  cmd->add_flag("--identity", args->identity, "Score the rainy inputs themselves (no model)");
  cmd->add_flag("--json", args->json, "Print one JSON object {psnr, ssim, count}");
  cmd->add_option("--limit", args->limit, "Score only the first N pairs");
  cmd->add_flag("--record", args->record,
                "Write the scores into the model's card (sapnet info shows them)");
  args->model.add_to(*cmd);
  cmd->callback([args] { run_eval(*args); });
}

}  // namespace sapnet::cli
