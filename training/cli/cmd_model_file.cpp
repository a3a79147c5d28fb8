// sapnet info / sapnet import: inspect a model file; turn released weights into a checkpoint.
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <regex>

#include "commands.h"
#include "error.h"
#include "model_file.h"

namespace sapnet::cli {
namespace {

std::string text(const nlohmann::json &v) {
  return v.is_string() ? v.get<std::string>() : v.dump();
}

std::string joined(const nlohmann::json &list) {
  std::string out;
  for (auto &v : list) out += (out.empty() ? "" : ", ") + text(v);
  return out;
}

nlohmann::json field(const nlohmann::json &object, const char *key) {
  return object.is_object() ? object.value(key, nlohmann::json()) : nlohmann::json();
}

// A score from the card as text. The card is read from a file, so a value may be anything; an
// infinite PSNR (a model that returned the clean images exactly) is stored as null, since JSON has
// no infinity.
std::string score(const nlohmann::json &scores, const char *key, const char *format) {
  const nlohmann::json v = field(scores, key);
  if (v.is_null()) return scores.is_object() && scores.contains(key) ? "inf" : "?";
  if (!v.is_number()) return text(v);
  char out[32];
  std::snprintf(out, sizeof out, format, v.get<double>());
  return out;
}

// The model card, for people: scores, then each training phase on a few lines; anything else as
// it is stored. `--json` gives all of it for programs.
void print_card_fields(const nlohmann::json &meta) {
  if (meta.contains("evaluations"))
    for (auto &[dataset, e] : meta["evaluations"].items())
      std::printf("scored      %s: %s dB / %s SSIM (%s images, %s, %s)\n", dataset.c_str(),
                  score(e, "psnr", "%.2f").c_str(), score(e, "ssim", "%.4f").c_str(),
                  text(field(e, "count")).c_str(), text(field(e, "precision")).c_str(),
                  text(field(e, "device")).c_str());
  if (meta.contains("phases")) {
    int k = 0;
    for (auto &p : meta["phases"]) {
      std::string data = joined(p.value("paired", nlohmann::json::array()));
      const std::string clean = joined(p.value("clean", nlohmann::json::array()));
      if (!clean.empty())
        data += (data.empty() ? "" : "; ") + std::string("synthesized rain over ") + clean;
      char minutes[32] = "";  // phases recorded afterwards may not know their time
      if (p.contains("seconds") && p["seconds"].is_number())
        std::snprintf(minutes, sizeof minutes, "%.0f min ", p["seconds"].get<double>() / 60);
      std::printf("phase %-5d %s\n            data: %s\n", ++k,
                  text(p.value("network", nlohmann::json())).c_str(), data.c_str());
      std::printf("            %s steps, batch %s, patch %s, lr %s (x%s at %s), seed %s, %son %s\n",
                  text(p.value("steps", nlohmann::json())).c_str(),
                  text(p.value("batch", nlohmann::json())).c_str(),
                  text(p.value("patch", nlohmann::json())).c_str(),
                  text(p.value("lr", nlohmann::json())).c_str(),
                  text(p.value("gamma", nlohmann::json())).c_str(),
                  joined(p.value("milestones", nlohmann::json::array())).c_str(),
                  text(p.value("seed", nlohmann::json())).c_str(), minutes,
                  text(p.value("device", nlohmann::json())).c_str());
      if (p.contains("init")) std::printf("            from %s\n", text(p["init"]).c_str());
      if (p.contains("note")) std::printf("            note: %s\n", text(p["note"]).c_str());
    }
  }
  for (auto &[key, value] : meta.items()) {
    if (key == "evaluations" || key == "phases") continue;
    if (key == "training") {  // the last phase's bookkeeping: its headline only
      std::string terms;
      const nlohmann::json weights = value.value("loss_terms", nlohmann::json::object());
      for (auto &[term, weight] : weights.items())
        terms += (terms.empty() ? "" : ", ") + term + " x" + text(weight);
      std::printf("%-11s %s steps, %s, loss terms %s\n", key.c_str(),
                  text(value.value("steps", nlohmann::json())).c_str(),
                  text(value.value("data", nlohmann::json())).c_str(), terms.c_str());
      continue;
    }
    if (key == "metrics" && value.empty()) continue;       // trained without --val
    if (key == "metrics" && value.contains("val_psnr")) {  // the trainer's last validation
      std::printf("validation  %s, %s images, last epoch of training: %s dB / %s SSIM\n",
                  text(value.value("val", nlohmann::json())).c_str(),
                  text(value.value("val_count", nlohmann::json())).c_str(),
                  score(value, "val_psnr", "%.2f").c_str(),
                  score(value, "val_ssim", "%.4f").c_str());
      continue;
    }
    std::printf("%-11s %s\n", key.c_str(), text(value).c_str());
  }
}

// A card written by another tool (or edited by hand) may not have the expected shapes: then it is
// shown as it is stored rather than not at all.
void print_card(const nlohmann::json &meta) {
  try {
    print_card_fields(meta);
  } catch (const nlohmann::json::exception &) {
    std::printf("card        %s\n", meta.dump().c_str());
  }
}

void run_info(const std::string &path, bool json) {
  ModelFile m = load_model_file(path);
  int64_t params = 0;
  for (auto &kv : m.weights) params += kv.second.numel();
  if (json) {
    nlohmann::json out = {{"file", path},
                          {"format", m.format},
                          {"network", network_to_json(m.network)},
                          {"parameters", params},
                          {"metadata", m.metadata}};
    std::printf("%s\n", out.dump(2).c_str());
    return;
  }
  std::printf("file        %s\nformat      %s\nnetwork     %s\nparameters  %lld in %zu tensors\n",
              path.c_str(), m.format.c_str(), m.network.describe().c_str(),
              static_cast<long long>(params), m.weights.size());
  for (auto &[group, tensors] : m.extra)
    std::printf("extra       %s: %zu tensors\n", group.c_str(), tensors.size());
  print_card(m.metadata);
}

// The card's scores for a model run with `now` stages instead of `was`. A score of the exit at
// `now` becomes the whole model's; exits beyond it, and the old whole-model scores when stages were
// taken away, describe another model and are dropped.
nlohmann::json evaluations_for_stages(const nlohmann::json &evaluations, int was, int now) {
  if (!evaluations.is_object()) return evaluations;
  static const std::regex exit_key(R"((.*) \((\d{1,4}) stages\))");
  nlohmann::json out = nlohmann::json::object();
  for (const auto &[key, value] : evaluations.items()) {
    std::smatch m;
    std::string name = key;
    int stages = was;
    if (std::regex_match(key, m, exit_key)) name = m[1], stages = std::stoi(m[2]);
    if (stages > now) continue;
    out[stages == now ? name : name + " (" + std::to_string(stages) + " stages)"] = value;
  }
  return out;
}

// Phases that ran before a card recorded them, from a JSON file: an array of phase records (the
// shape `sapnet info --json` shows), each with a note saying where it comes from.
nlohmann::json read_earlier_phases(const std::string &path) {
  std::ifstream in(path);
  if (!in) throw Error(path + ": cannot open");
  nlohmann::json phases;
  try {
    phases = nlohmann::json::parse(in);
  } catch (const nlohmann::json::exception &e) {
    throw Error(path + ": not JSON (" + e.what() + ")");
  }
  if (!phases.is_array()) throw Error(path + ": expected a JSON array of training phases");
  for (size_t i = 0; i < phases.size(); ++i)
    if (!phases[i].is_object() || !phases[i].contains("note"))
      throw Error(path + ": phase " + std::to_string(i + 1) +
                  " is not an object with a \"note\" (say where the record comes from)");
  return phases;
}

void run_import(const std::string &in, const std::string &out, int stages,
                const std::string &earlier_phases) {
  ModelFile m = load_model_file(in);
  if (!earlier_phases.empty()) {
    if (m.format != "sapnet checkpoint") throw Error(in + ": --earlier-phases needs a checkpoint");
    nlohmann::json phases = read_earlier_phases(earlier_phases);
    for (const auto &p : m.metadata.value("phases", nlohmann::json::array())) phases.push_back(p);
    m.metadata["phases"] = phases;
  }
  if (stages > 0 && stages != m.network.stages) {
    if (m.metadata.is_object()) {
      if (m.metadata.contains("evaluations"))
        m.metadata["evaluations"] =
            evaluations_for_stages(m.metadata["evaluations"], m.network.stages, stages);
      m.metadata.erase("metrics");  // the training run's validation, of all its stages
    }
    m.network.stages = stages;
  }
  m.extra.clear();
  if (m.format != "sapnet checkpoint") {  // released weights: say what they were
    m.metadata["imported_from"] = std::filesystem::path(in).filename().string();
    m.metadata["imported_format"] = m.format;
  }
  save_checkpoint(out, m);
  std::printf("wrote %s: %s\n", out.c_str(), m.network.describe().c_str());
}

}  // namespace

void add_info(CLI::App &app) {
  auto path = std::make_shared<std::string>();
  auto json = std::make_shared<bool>(false);
  auto *cmd = app.add_subcommand(
      "info", "Describe a model file: format, architecture, provenance, metrics");
  cmd->add_option("model", *path, "Model file")->required();
  cmd->add_flag("--json", *json, "Print JSON");
  cmd->callback([path, json] { run_info(*path, *json); });
}

void add_import(CLI::App &app) {
  auto in = std::make_shared<std::string>(), out = std::make_shared<std::string>();
  auto stages = std::make_shared<int>(0);
  auto earlier = std::make_shared<std::string>();
  auto *cmd = app.add_subcommand(
      "import",
      "Convert released SAPNet/PReNet weights (.pth, no Python needed) into a sapnet checkpoint");
  cmd->add_option("weights", *in, "Released .pth file (or a checkpoint)")->required();
  cmd->add_option("-o,--output", *out, "Checkpoint to write")->required();
  cmd->add_option("--stages", *stages, "Record this many recurrent stages (default: 6)")
      ->check(CLI::Range(1, 16));
  cmd->add_option("--earlier-phases", *earlier,
                  "JSON array of training phases that ran before the checkpoint's card recorded "
                  "them (each with a \"note\"); put before its own")
      ->check(CLI::ExistingFile);
  cmd->callback([in, out, stages, earlier] { run_import(*in, *out, *stages, *earlier); });
}

}  // namespace sapnet::cli
