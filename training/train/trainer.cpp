#include "train/trainer.h"

#include <torch/cuda.h>
#include <torch/optim.h>
#include <torch/serialize.h>

#include <algorithm>
#include <atomic>
#include <cmath>
#include <csignal>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <nlohmann/json.hpp>
#include <optional>
#include <random>
#include <sstream>
#include <tuple>

#include <unistd.h>

#include "atomic_file.h"
#include "data/image.h"
#include "data/paired_folder.h"
#include "data/patch_source.h"
#include "device.h"
#include "distributed/grad_buckets.h"
#include "distributed/process_group.h"
#include "engine.h"
#include "error.h"
#include "eval/evaluate.h"
#include "host_resources.h"
#include "metrics/metrics.h"
#include "model_file.h"
#include "sapnet.h"
#include "torch_device.h"
#include "train/autocast_scope.h"
#include "train/losses.h"
#include "train/plot.h"
#include "train/progress.h"

namespace fs = std::filesystem;

namespace sapnet {
namespace {

std::atomic<bool> g_interrupted{false};
void on_stop_signal(int) {
  g_interrupted = true;
}

// Ctrl-C, and SIGTERM (kill, a batch system's time-out, docker stop), ask training to save and
// stop; the previous handlers return however training ends.
class StopSignalGuard {
 public:
  StopSignalGuard()
      : previous_int_(std::signal(SIGINT, on_stop_signal)),
        previous_term_(std::signal(SIGTERM, on_stop_signal)) {}
  ~StopSignalGuard() {
    std::signal(SIGINT, previous_int_);
    std::signal(SIGTERM, previous_term_);
  }
  StopSignalGuard(const StopSignalGuard &) = delete;
  StopSignalGuard &operator=(const StopSignalGuard &) = delete;

 private:
  void (*previous_int_)(int);
  void (*previous_term_)(int);
};

// SplitMix64: decorrelates (seed, epoch, index) into independent stream seeds.
uint64_t mix(uint64_t x) {
  x += 0x9E3779B97F4A7C15ull;
  x = (x ^ (x >> 30)) * 0xBF58476D1CE4E5B9ull;
  x = (x ^ (x >> 27)) * 0x94D049BB133111EBull;
  return x ^ (x >> 31);
}

// The epoch's visiting order: a Fisher-Yates shuffle driven by (seed, epoch) alone, so that a
// resumed run sees exactly the order the interrupted one would have.
std::vector<size_t> epoch_order(size_t n, uint64_t seed, int epoch) {
  std::vector<size_t> order(n);
  for (size_t i = 0; i < n; ++i) order[i] = i;
  std::mt19937_64 rng(mix(seed ^ mix(epoch)));
  for (size_t i = n; i > 1; --i) std::swap(order[i - 1], order[rng() % i]);
  return order;
}

// All sources as one indexable set.
class Concat {
 public:
  void add(std::unique_ptr<PatchSource> s) {
    if (!sources_.empty() && s->patch_size() != sources_[0]->patch_size())
      throw Error("all training sources must use one patch size (" + s->describe() + ")");
    total_ += s->size();
    sources_.push_back(std::move(s));
  }
  size_t size() const { return total_; }
  int patch() const { return sources_.at(0)->patch_size(); }
  void get(size_t i, uint64_t seed, float *rainy, float *clean) const {
    for (auto &s : sources_) {
      if (i < s->size()) return s->get(i, seed, rainy, clean);
      i -= s->size();
    }
    throw Error("patch index out of range");
  }
  std::string describe() const {
    std::string d;
    for (auto &s : sources_) d += (d.empty() ? "" : "; ") + s->describe();
    return d;
  }

 private:
  std::vector<std::unique_ptr<PatchSource>> sources_;
  size_t total_ = 0;
};

// A temporary file gone however the scope ends.
struct RemoveOnExit {
  fs::path path;
  ~RemoveOnExit() {
    std::error_code ec;
    fs::remove(path, ec);
  }
};

double lr_at(const TrainOptions &o, int epoch) {
  double lr = o.lr;
  for (int m : o.milestones)
    if (epoch >= m) lr *= o.gamma;
  return lr;
}

struct LossTerms {
  bool ssim = false, l1 = false, seg = false, pcl = false, lpips = false;
  nlohmann::json inactive = nlohmann::json::object();  // term -> why it is off
};

torch::Tensor optimizer_bytes(torch::optim::Adam &opt) {
  torch::serialize::OutputArchive archive;
  opt.save(archive);
  std::ostringstream os;
  archive.save_to(os);
  const std::string s = os.str();
  auto t = torch::empty({static_cast<int64_t>(s.size())}, torch::kUInt8);
  std::memcpy(t.data_ptr(), s.data(), s.size());
  return t;
}

void load_optimizer(torch::optim::Adam &opt, const torch::Tensor &bytes,
                    const torch::Device &device) {
  std::istringstream is(std::string(static_cast<const char *>(bytes.data_ptr()), bytes.numel()));
  torch::serialize::InputArchive archive;
  archive.load_from(is, device);
  opt.load(archive);
}

// The options a run was started with, as run.json keeps them (the network lives in checkpoints).
nlohmann::json options_to_json(const TrainOptions &o) {
  return {{"paired", o.paired},
          {"clean", o.clean},
          {"packed", o.packed},
          {"val", o.val},
          {"val_limit", o.val_limit},
          {"patch", o.patch},
          {"stride", o.stride},
          {"video_step", o.video_step},
          {"max_side", o.max_side},
          {"skip_bad", o.skip_bad},
          {"heavy_fraction", o.heavy_fraction},
          {"stage_weights", o.stage_weights},
          {"w_ssim", o.w_ssim},
          {"w_seg", o.w_seg},
          {"w_pcl", o.w_pcl},
          {"w_lpips", o.w_lpips},
          {"w_l1", o.w_l1},
          {"vgg_weights", o.vgg_weights},
          {"lpips_weights", o.lpips_weights},
          {"seg_backbone", o.seg_backbone},
          {"epochs", o.epochs},
          {"batch", o.batch},
          {"lr", o.lr},
          {"gamma", o.gamma},
          {"milestones", o.milestones},
          {"steps_per_epoch", o.steps_per_epoch},
          {"seed", o.seed},
          {"device", o.device},
          {"precision", precision_name(o.precision)}};
}

void options_from_json(const nlohmann::json &j, TrainOptions &o) {
  auto take = [&](const char *key, auto &field) {
    if (j.contains(key)) j.at(key).get_to(field);
  };
  take("paired", o.paired), take("clean", o.clean), take("packed", o.packed);
  take("val", o.val), take("val_limit", o.val_limit), take("patch", o.patch);
  take("stride", o.stride), take("video_step", o.video_step), take("max_side", o.max_side);
  take("skip_bad", o.skip_bad), take("heavy_fraction", o.heavy_fraction);
  take("stage_weights", o.stage_weights), take("w_ssim", o.w_ssim), take("w_seg", o.w_seg);
  take("w_pcl", o.w_pcl), take("w_lpips", o.w_lpips), take("w_l1", o.w_l1);
  take("vgg_weights", o.vgg_weights), take("lpips_weights", o.lpips_weights);
  take("seg_backbone", o.seg_backbone), take("epochs", o.epochs), take("batch", o.batch);
  take("lr", o.lr), take("gamma", o.gamma), take("milestones", o.milestones);
  take("steps_per_epoch", o.steps_per_epoch), take("seed", o.seed), take("device", o.device);
  if (j.contains("precision")) o.precision = parse_precision(j.at("precision").get<std::string>());
}

// This run's options as one phase of the model's history: paths reduced to names.
nlohmann::json phase_record(const TrainOptions &o) {
  nlohmann::json j = options_to_json(o);
  for (const char *key : {"paired", "clean", "packed"})
    for (auto &v : j[key]) v = dataset_name(v.get<std::string>());
  for (const char *key : {"val", "vgg_weights", "lpips_weights", "seg_backbone"})
    j[key] = dataset_name(j[key].get<std::string>());
  j["network"] = o.network.describe();
  if (!o.init.empty()) j["init"] = dataset_name(o.init);
  return j;
}

bool was_given(const TrainOptions &o, const std::string &flag) {
  return std::find(o.given.begin(), o.given.end(), flag) != o.given.end();
}

// A whole file as bytes; false when it cannot be opened.
bool read_bytes(const fs::path &path, std::string &bytes) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return false;
  bytes.assign(std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>());
  return true;
}

// A resumed run continues with the options it was started with (run.json, whose text is
// `saved_text`, or null when the file is missing); flags given now replace them, except the
// architecture, which the checkpoint fixes.
void restore_run_options(TrainOptions &o, const fs::path &dir, const NetworkConfig &network,
                         const std::string *saved_text) {
  for (const char *flag : {"stages", "channels", "dilations", "prenet", "ablation"})
    if (was_given(o, flag)) {
      const NetworkConfig asked = o.network;
      if (!(asked == network) || std::string(flag) == "prenet" || std::string(flag) == "ablation")
        throw Error(dir.string() + ": the run being resumed is " + network.describe() + "; --" +
                    flag + " cannot change it (start a new run with --init " +
                    (dir / "last.sapnet").string() + ")");
    }
  o.network = network;
  if (o.given.empty()) return;  // a program's own options, not a command line
  const fs::path file = dir / "run.json";
  if (!saved_text) {
    if (o.paired.empty() && o.clean.empty() && o.packed.empty())
      throw Error(file.string() +
                  ": missing, so the run's data is unknown: give the data flags again");
    return;  // a run from before run.json: the flags as given
  }
  nlohmann::json saved;
  try {
    saved = nlohmann::json::parse(*saved_text);
  } catch (const nlohmann::json::exception &e) {
    throw Error(file.string() + ": unreadable (" + e.what() + ")");
  }
  nlohmann::json now = options_to_json(o);
  for (auto &[key, value] : now.items()) {
    std::string flag = key;
    std::replace(flag.begin(), flag.end(), '_', '-');
    if (!was_given(o, flag) && saved.contains(key)) value = saved[key];
  }
  // Data sources belong together: naming any of them replaces all three.
  if (was_given(o, "paired") || was_given(o, "clean") || was_given(o, "packed"))
    for (const char *key : {"paired", "clean", "packed"}) now[key] = options_to_json(o)[key];
  options_from_json(now, o);
}

// A plotted series as saved: JSON has no infinity (a validation image reproduced exactly scores an
// infinite PSNR), so such values were written as null and come back as NaN, which the plot skips.
std::vector<double> plotted_values(const nlohmann::json &training, const char *key) {
  std::vector<double> values;
  for (const auto &v : training.value(key, nlohmann::json::array()))
    values.push_back(v.is_number() ? v.get<double>() : std::nan(""));
  return values;
}

void write_run_options(const TrainOptions &o, const fs::path &dir) {
  AtomicFile file((dir / "run.json").string());
  std::string text;
  try {
    text = options_to_json(o).dump(2) + "\n";
  } catch (const nlohmann::json::type_error &) {
    // --resume reads the paths back from run.json, so they must be kept exactly, and JSON holds
    // only UTF-8.
    throw Error(
        "a path given to train is not valid UTF-8 (run.json must keep it exactly for "
        "--resume): rename the file or folder, or link to it under a UTF-8 name");
  }
  file.write(text.data(), text.size());
  file.commit();
}

// A finished or interrupted run (a checkpoint) is never replaced by a new one unless asked for:
// the old run stays resumable. A run.json or logs without a checkpoint (a run that failed in its
// first epoch) hold nothing to resume.
void refuse_to_replace_a_run(const fs::path &dir, bool overwrite) {
  if (overwrite) return;
  if (fs::exists(dir / "last.sapnet") || fs::exists(dir / "model.sapnet"))
    throw Error(dir.string() +
                ": holds a training run already; continue it with --resume, start over with "
                "--overwrite, or name another folder with -o");
}

// A new run starts with none of an earlier run's files, so that its logs never mix with theirs;
// called once the new run has set up (an --init inside the folder is loaded by then).
void clear_earlier_run(const fs::path &dir) {
  for (const char *name :
       {"last.sapnet", "model.sapnet", "run.json", "log.csv", "log.jsonl", "plot.png"}) {
    std::error_code ec;
    fs::remove(dir / name, ec);
    if (ec) throw Error((dir / name).string() + ": cannot remove (" + ec.message() + ")");
  }
}

class Trainer {
 public:
  explicit Trainer(const TrainOptions &o) : o_(o) {}

  int run();

 private:
  int run_ranks();
  void start_distributed();
  ModelFile load_resumed(const fs::path &last, std::string *run_json, bool *has_run_json);
  // One data-parallel step: gradients averaged over the ranks with the step's loss, batch MSE
  // and stop requests; returns {global loss, global MSE}. Throws PeerFailure.
  std::pair<double, double> distributed_step(const torch::Tensor &rainy, const torch::Tensor &clean,
                                             bool stop_time, bool *stop_interrupt,
                                             bool *stop_limit);
  int stop_after_peer_failure(const dist::PeerFailure &failure);
  void setup_data();
  void setup_losses();
  void setup_model();
  // The weighted eq. 5 total; the network's output lands in *output when given.
  torch::Tensor step_loss(const torch::Tensor &rainy, const torch::Tensor &clean,
                          nlohmann::json &terms, torch::Tensor *output = nullptr);
  std::pair<double, double> validate();
  void save(const std::string &path, bool with_optimizer);
  void save_epoch_done(const fs::path &last);
  void log_epoch(const nlohmann::json &row);
  int benchmark();
  void fill_batch(const std::vector<size_t> &order, size_t first, int epoch);
  size_t global_batch() const { return size_t(o_.batch) * world_; }
  [[noreturn]] void diverged(double loss_value, double lr, const fs::path &last);

  TrainOptions o_;
  int rank_ = 0, world_ = 1;
  std::unique_ptr<dist::ProcessGroup> pg_;          // null for a single process
  std::unique_ptr<dist::GradientBuckets> buckets_;  // the gradients, with the process group
  bool saving_allowed_ = false;                     // rank 0 once the model and data are set up
  std::chrono::steady_clock::time_point epoch_start_;
  torch::Device device_{torch::kCPU};
  Concat data_;
  std::vector<std::pair<RgbImage, RgbImage>> val_;  // (rainy, clean), decoded once
  std::vector<std::string> val_names_;              // each pair's rainy file, for errors
  SAPNet net_{nullptr};
  std::unique_ptr<torch::optim::Adam> opt_;
  loss::Vgg16Features vgg_{nullptr};
  loss::Lpips lpips_{nullptr};
  loss::BackgroundSegmenter ubs_{nullptr};
  LossTerms terms_;
  torch::Tensor batch_rainy_, batch_clean_;  // host staging, reused every step
  int epoch_ = 0;                            // epoch in progress (0-based)
  size_t step_in_epoch_ = 0;                 // steps of epoch_ already done
  int64_t total_steps_ = 0;
  double seconds_ = 0;  // training time over all runs of this training
  // Running sums of the epoch in progress, saved so that a resumed epoch logs the same means.
  double loss_sum_ = 0, psnr_sum_ = 0;
  size_t counted_ = 0;
  std::vector<double> plot_loss_, plot_psnr_;
  nlohmann::json last_metrics_ = nlohmann::json::object();
  nlohmann::json earlier_phases_ = nlohmann::json::array();  // of the --init model, then this run
  std::string resumed_init_;  // the start (--init) that the phase --resume continues named
};

void Trainer::setup_data() {
  SourceOptions so;
  so.patch = o_.patch;
  so.stride = o_.stride;
  so.skip_bad = o_.skip_bad;
  so.heavy_fraction = o_.heavy_fraction;
  for (auto &dir : o_.paired) data_.add(make_paired_source(find_pairs(dir), so));
  if (!o_.clean.empty()) {
    auto images = load_clean_images(o_.clean, o_.video_step, o_.skip_bad, o_.max_side);
    std::string what;
    for (auto &c : o_.clean) what += (what.empty() ? "" : ", ") + dataset_name(c);
    data_.add(make_synthetic_source(std::move(images), so, what));
  }
  for (auto &p : o_.packed) data_.add(make_packed_source(p, o_.heavy_fraction));
  if (data_.size() == 0) throw Error("no training data: give --paired, --clean or --packed");
  if (!o_.val.empty() && rank_ == 0) {  // rank 0 alone validates
    // Decoded once, here: a bad validation image stops the run before any training (or, with
    // --skip-bad, is left out), never at the end of an epoch whose work would be lost.
    auto pairs = find_pairs(o_.val);
    if (o_.val_limit && pairs.size() > o_.val_limit) pairs.resize(o_.val_limit);
    for (auto &pair : pairs) {
      try {
        RgbImage rainy = read_image(pair.rainy), clean = read_image(pair.clean);
        if (rainy.width != clean.width || rainy.height != clean.height)
          throw Error(pair.rainy + " and " + pair.clean + " differ in size");
        try {
          require_ssim_size(rainy.width, rainy.height);
        } catch (const Error &e) {
          throw Error(pair.rainy + ": " + e.what());
        }
        val_.push_back({std::move(rainy), std::move(clean)});
        val_names_.push_back(pair.rainy);
      } catch (const Error &e) {
        if (!o_.skip_bad) throw Error(std::string("validation set: ") + e.what());
        std::fprintf(stderr, "sapnet: warning: validation pair skipped: %s\n", e.what());
      }
    }
    if (val_.empty()) throw Error(o_.val + ": no usable validation pairs");
  }
}

void Trainer::setup_losses() {
  terms_.ssim = o_.w_ssim > 0;
  terms_.l1 = o_.w_l1 > 0;
  const bool want_vgg = o_.w_pcl > 0 || o_.w_lpips > 0;
  if (want_vgg && o_.vgg_weights.empty()) {
    const char *why = "no ImageNet VGG-16 weights (--vgg-weights)";
    if (o_.w_pcl > 0) terms_.inactive["pcl"] = why;
    if (o_.w_lpips > 0) terms_.inactive["lpips"] = why;
  } else if (want_vgg) {
    vgg_ = loss::Vgg16Features(5);
    loss::load_vgg16(*vgg_, read_torch_state_dict(o_.vgg_weights), o_.vgg_weights);
    for (auto &p : vgg_->parameters()) p.set_requires_grad(false);
    vgg_->eval();
    vgg_->to(device_);
    terms_.pcl = o_.w_pcl > 0;
    if (o_.w_lpips > 0) {
      if (o_.lpips_weights.empty()) {
        terms_.inactive["lpips"] = "no LPIPS heads (--lpips-weights)";
      } else {
        lpips_ = loss::Lpips();
        lpips_->load_heads(read_torch_state_dict(o_.lpips_weights), o_.lpips_weights);
        lpips_->to(device_);
        terms_.lpips = true;
      }
    }
  }
  if (o_.w_seg > 0) {
    ubs_ = loss::BackgroundSegmenter(o_.seg_classes, o_.seed);
    const std::string backbone = o_.seg_backbone.empty() ? o_.vgg_weights : o_.seg_backbone;
    if (!backbone.empty()) {
      loss::load_vgg16(*ubs_->trunk(), read_torch_state_dict(backbone), backbone);
      for (auto &p : ubs_->parameters()) p.set_requires_grad(false);
    }
    ubs_->eval();
    ubs_->to(device_);
    terms_.seg = true;
    if (backbone.empty())
      terms_.inactive["seg_imagenet_backbone"] =
          "UBS trunk is Gaussian-initialised (no --seg-backbone)";
  }
  if (!terms_.ssim && !terms_.l1 && !terms_.seg && !terms_.pcl && !terms_.lpips)
    throw Error("every loss term is off");
}

void Trainer::setup_model() {
  if (o_.precision != Precision::kFp32 && o_.precision != Precision::kBf16)
    throw Error(std::string("--precision ") + precision_name(o_.precision) +
                ": training runs fp32 or bf16 (fp16 would need loss scaling)");
  if (!o_.stage_weights.empty() && int(o_.stage_weights.size()) != o_.network.stages)
    throw Error("--stage-weights has " + std::to_string(o_.stage_weights.size()) +
                " weight(s) for a " + std::to_string(o_.network.stages) + "-stage network");
  for (double w : o_.stage_weights)
    if (!(w >= 0)) throw Error("--stage-weights: weights must be >= 0");
  torch::manual_seed(o_.seed);  // the initial weights are part of what --seed repeats
  net_ = SAPNet(o_.network);
  if (!o_.init.empty() && rank_ == 0) {  // the other ranks receive rank 0's weights
    ModelFile init = load_model_file(o_.init);
    earlier_phases_ = init.metadata.value("phases", nlohmann::json::array());
    try {
      load_weights(*net_, init.weights);
    } catch (const Error &e) {
      throw Error(o_.init + ": " + e.what());
    }
  }
  net_->to(device_);
  // Channels-last, as in the Engine: oneDNN's and cuDNN's fast layout (4-11% more bf16 steps/s
  // on this project's CPU, fp32 the same within noise). Adam's state, created from the parameters,
  // follows it.
  for (auto &p : net_->parameters())
    if (p.dim() == 4) p.set_data(p.data().contiguous(torch::MemoryFormat::ChannelsLast));
  opt_ = std::make_unique<torch::optim::Adam>(net_->parameters(), torch::optim::AdamOptions(o_.lr));
}

torch::Tensor Trainer::step_loss(const torch::Tensor &rainy, const torch::Tensor &clean,
                                 nlohmann::json &terms, torch::Tensor *output) {
  // The paper's loss on the last stage; with --stage-weights, on every weighted exit.
  std::vector<torch::Tensor> outs;
  {
    const AutocastScope mixed(device_.type(), torch::kBFloat16, o_.precision == Precision::kBf16);
    outs = net_->forward_stages(rainy.contiguous(torch::MemoryFormat::ChannelsLast));
  }
  // The losses in fp32: SSIM's variances (E[x^2] - E[x]^2) cancel too much in bf16.
  for (auto &out : outs) out = out.to(torch::kFloat);
  if (output) *output = outs.back().detach();
  auto total = torch::zeros({}, outs.back().options());
  auto add = [&](const char *name, double w, const torch::Tensor &v) {
    const double before = terms.contains(name) ? terms[name].get<double>() : 0.0;
    terms[name] = before + v.item<double>();
    total = total + w * v;
  };
  for (size_t k = 0; k < outs.size(); ++k) {
    const double sw =
        o_.stage_weights.empty() ? (k + 1 == outs.size() ? 1.0 : 0.0) : o_.stage_weights[k];
    if (sw == 0) continue;
    const torch::Tensor &out = outs[k];
    if (terms_.ssim) add("ssim", sw * o_.w_ssim, -loss::ssim(out, clean));
    if (terms_.l1) add("l1", sw * o_.w_l1, torch::l1_loss(out, clean));
    if (terms_.seg) add("seg", sw * o_.w_seg, loss::segmentation(*ubs_, out));
    if (terms_.pcl)
      add("pcl", sw * o_.w_pcl, loss::perceptual_contrastive(*vgg_, out, clean, rainy));
    if (terms_.lpips) add("lpips", sw * o_.w_lpips, lpips_->forward(*vgg_, out, clean));
  }
  return total;
}

void Trainer::fill_batch(const std::vector<size_t> &order, size_t first, int epoch) {
  const size_t n = 3 * size_t(data_.patch()) * data_.patch();
  for (int b = 0; b < o_.batch; ++b) {
    const size_t pos = (first + b) % order.size();
    const uint64_t seed = mix(o_.seed ^ mix((uint64_t(epoch) << 32) + pos));
    data_.get(order[pos], seed, batch_rainy_.data_ptr<float>() + b * n,
              batch_clean_.data_ptr<float>() + b * n);
  }
}

std::pair<double, double> Trainer::validate() {
  if (val_.empty()) return {0, 0};
  // Scored like `sapnet eval`, through the Engine: this moment's weights go to a file it loads.
  const fs::path file = fs::path(o_.out_dir) / ".validation.sapnet";
  save(file.string(), false);
  const RemoveOnExit remove{file};
  EngineOptions options;
  options.model_path = file.string();
  options.device = device_.str();
  options.threads = torch::get_num_threads();  // as training runs
  Engine engine(options);
  const Scores scores = evaluate_pairs(
      &engine, val_.size(), [&](size_t i) { return val_[i]; }, {},
      [&](size_t i) { return val_names_[i]; });
  return {scores.psnr, scores.ssim};
}

// A finished epoch's checkpoint names the next epoch to run, so that --resume starts there.
void Trainer::save_epoch_done(const fs::path &last) {
  ++epoch_;
  step_in_epoch_ = 0;
  loss_sum_ = psnr_sum_ = 0;
  counted_ = 0;
  save(last.string(), true);
  --epoch_;  // undone here, redone by the epoch loop's increment
}

void Trainer::save(const std::string &path, bool with_optimizer) {
  ModelFile m;
  m.network = o_.network;
  for (auto &kv : weights_of(*net_)) m.weights.emplace_back(kv.first, kv.second.cpu());
  nlohmann::json inactive = terms_.inactive;
  nlohmann::json active = nlohmann::json::object();
  if (terms_.ssim) active["ssim"] = o_.w_ssim;
  if (terms_.l1) active["l1"] = o_.w_l1;
  if (terms_.seg) active["seg"] = o_.w_seg;
  if (terms_.pcl) active["pcl"] = o_.w_pcl;
  if (terms_.lpips) active["lpips"] = o_.w_lpips;
  m.metadata["training"] = {
      {"data", data_.describe()},
      {"loss_terms", active},
      {"stage_weights", o_.stage_weights},
      {"heavy_fraction", o_.heavy_fraction},
      {"inactive_terms", inactive},
      {"epoch", epoch_},
      {"step_in_epoch", step_in_epoch_},
      {"epoch_sums", {loss_sum_, psnr_sum_, counted_}},
      {"steps", total_steps_},
      {"patches_seen", total_steps_ * int64_t(global_batch())},
      {"processes", world_},
      // Where the epoch stands in patches, so that a run resumed with another global batch
      // continues at the same place.
      {"patch_in_epoch", step_in_epoch_ * global_batch()},
      {"seconds", seconds_},
      {"device", device_.str()},
      {"threads", torch::get_num_threads()},
      {"seed", o_.seed},
      {"batch", o_.batch},
      {"patch", o_.patch},
      {"lr", o_.lr},
      {"milestones", o_.milestones},
      {"epochs", o_.epochs},
      {"steps_per_epoch", o_.steps_per_epoch},
      {"plot_loss", plot_loss_},
      {"plot_psnr", plot_psnr_},
  };
  m.metadata["metrics"] = last_metrics_;
  nlohmann::json phases = earlier_phases_;
  nlohmann::json phase = phase_record(o_);
  if (!resumed_init_.empty()) phase["init"] = resumed_init_;
  phase["steps"] = total_steps_;
  phase["seconds"] = seconds_;
  phase["device"] = device_.str();
  phase["threads"] = torch::get_num_threads();
  phases.push_back(phase);
  m.metadata["phases"] = phases;
  if (with_optimizer) m.extra["optimizer"] = {{"adam", optimizer_bytes(*opt_)}};
  save_checkpoint(path, m);
}

void Trainer::log_epoch(const nlohmann::json &row) {
  const fs::path dir(o_.out_dir);
  const bool fresh = !fs::exists(dir / "log.csv");
  std::ofstream csv(dir / "log.csv", std::ios::app);
  if (fresh) csv << "epoch,lr,loss,val_psnr,val_ssim,steps,seconds\n";
  csv << row["epoch"] << ',' << row["lr"] << ',' << row["loss"] << ',' << row["val_psnr"] << ','
      << row["val_ssim"] << ',' << row["steps"] << ',' << row["seconds"] << '\n';
  std::ofstream(dir / "log.jsonl", std::ios::app) << row.dump() << '\n';
  // The plot is a convenience: failing to draw it must not stop a training run.
  try {
    write_training_plot((dir / "plot.png").string(), plot_loss_, plot_psnr_);
  } catch (const std::exception &e) {
    std::fprintf(stderr, "sapnet: warning: the training plot was not drawn: %s\n", e.what());
  }
}

int Trainer::benchmark() {
  net_->train();
  const auto order = epoch_order(data_.size(), o_.seed, 0);
  auto one = [&](size_t i) {
    fill_batch(order, i * global_batch() + size_t(rank_) * o_.batch, 0);
    auto rainy = batch_rainy_.to(device_), clean = batch_clean_.to(device_);
    if (pg_) {
      bool interrupt = false, limit = false;
      distributed_step(rainy, clean, false, &interrupt, &limit);
      if (device_.is_cuda()) torch::cuda::synchronize();
      return;
    }
    nlohmann::json terms;
    opt_->zero_grad();
    step_loss(rainy, clean, terms).backward();
    opt_->step();
    if (device_.is_cuda()) torch::cuda::synchronize();
  };
  one(0);  // warm-up
  std::optional<Progress> progress;
  if (rank_ == 0) progress.emplace("benchmark", o_.benchmark_steps);
  const auto start = std::chrono::steady_clock::now();
  for (int i = 0; i < o_.benchmark_steps; ++i) {
    one(i + 1);
    if (progress) progress->update(i + 1);
  }
  const double s = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  if (progress) progress->finish();
  const nlohmann::json result = {{"steps_per_s", o_.benchmark_steps / s},
                                 {"patches_per_s", o_.benchmark_steps * global_batch() / s},
                                 {"batch", o_.batch},
                                 {"global_batch", global_batch()},
                                 {"processes", world_},
                                 {"patch", o_.patch},
                                 {"device", device_.str()},
                                 {"threads", torch::get_num_threads()}};
  if (rank_ == 0) {
    if (o_.benchmark_report.empty()) {
      std::printf("%s\n", result.dump().c_str());
    } else {
      AtomicFile file(o_.benchmark_report);
      const std::string text = result.dump() + "\n";
      file.write(text.data(), text.size());
      file.commit();
    }
  }
  if (pg_) pg_->finish();
  return 0;
}

[[noreturn]] void Trainer::diverged(double loss_value, double lr, const fs::path &last) {
  const bool saved = fs::exists(last);
  throw Error("training diverged at epoch " + std::to_string(epoch_ + 1) + ", step " +
              std::to_string(step_in_epoch_ + 1) + " (the loss is " + std::to_string(loss_value) +
              "); lower --lr (now " + std::to_string(lr) + "). " +
              (saved ? "The last good checkpoint is " + last.string() + " (--resume)"
                     : std::string("No checkpoint was written yet")));
}

// Thrown on ranks other than 0 for what every rank sees alike (a diverged loss): rank 0 says it.
struct StopQuietly {};

std::pair<double, double> Trainer::distributed_step(const torch::Tensor &rainy,
                                                    const torch::Tensor &clean, bool stop_time,
                                                    bool *stop_interrupt, bool *stop_limit) {
  buckets_->zero();
  nlohmann::json terms;
  torch::Tensor out;
  auto loss = step_loss(rainy, clean, terms, &out);
  loss.backward();
  // Extras: [loss, batch MSE, Ctrl-C seen, time limit reached (rank 0's clock)], averaged with
  // the gradients, so that every rank logs the global values and stops at the same step.
  const torch::Tensor &extras = buckets_->extras();
  {
    torch::NoGradGuard no_grad;
    extras.select(0, 0).copy_(loss.detach());
    extras.select(0, 1).copy_((out.clamp(0, 1) - clean).pow(2).mean());
    extras.select(0, 2).fill_(g_interrupted ? 1.0 : 0.0);
    extras.select(0, 3).fill_(stop_time ? 1.0 : 0.0);
  }
  buckets_->average(*pg_);
  const torch::Tensor host = extras.device().is_cpu() ? extras : extras.cpu();
  const float *v = host.data_ptr<float>();
  *stop_interrupt = v[2] > 0;
  *stop_limit = v[3] > 0;
  if (!std::isfinite(v[0])) {  // before the update: the weights are still the last good
    if (rank_ != 0) throw StopQuietly{};
    diverged(v[0], lr_at(o_, epoch_), fs::path(o_.out_dir) / "last.sapnet");
  }
  opt_->step();
  return {v[0], v[1]};
}

ModelFile Trainer::load_resumed(const fs::path &last, std::string *run_json, bool *has_run_json) {
  if (!pg_) {
    if (!fs::exists(last)) throw Error(last.string() + ": nothing to resume (no checkpoint)");
    *has_run_json = read_bytes(last.parent_path() / "run.json", *run_json);
    return load_model_file(last.string());
  }
  // Rank 0 reads the checkpoint and run.json and hands their bytes to the others, whose output
  // folder may be on another machine.
  std::string checkpoint, flag;
  if (rank_ == 0) {
    if (!fs::exists(last) || !read_bytes(last, checkpoint))
      throw Error(last.string() + ": nothing to resume (no checkpoint)");
    flag = read_bytes(last.parent_path() / "run.json", *run_json) ? "1" : "0";
  }
  pg_->share_from_rank0("resume/flag", flag);
  pg_->share_from_rank0("resume/run.json", *run_json);
  pg_->share_from_rank0("resume/checkpoint", checkpoint);
  *has_run_json = flag == "1";
  if (rank_ == 0) return load_model_file(last.string());
  const fs::path copy =
      fs::temp_directory_path() / ("sapnet-resume-" + std::to_string(::getpid()) + ".sapnet");
  const RemoveOnExit remove{copy};
  {
    std::ofstream out(copy, std::ios::binary);
    out.write(checkpoint.data(), std::streamsize(checkpoint.size()));
    if (!out) throw Error(copy.string() + ": cannot write the shared checkpoint");
  }
  return load_model_file(copy.string());
}

void Trainer::start_distributed() {
  const dist::Rendezvous &env = o_.rendezvous;
  rank_ = env.rank;
  world_ = env.world_size;
  if (device_.is_cuda()) {
    // One GPU per local rank.
    if (env.local_rank >= int(torch::cuda::device_count()))
      throw Error(env.who(env.rank) + ": LOCAL_RANK " + std::to_string(env.local_rank) +
                  " has no GPU (this machine has " + std::to_string(torch::cuda::device_count()) +
                  ")");
    device_ = torch::Device(torch::kCUDA, static_cast<c10::DeviceIndex>(env.local_rank));
  }
  pg_ = std::make_unique<dist::ProcessGroup>(env, device_.is_cuda(), o_.dist_timeout);
  if (rank_ == 0)
    std::fprintf(stderr, "sapnet: %d processes (%s, %s), batch %d per process, global batch %zu\n",
                 world_, env.source.c_str(), pg_->backend_name(), o_.batch, global_batch());
}

int Trainer::stop_after_peer_failure(const dist::PeerFailure &failure) {
  const fs::path last = fs::path(o_.out_dir) / "last.sapnet";
  std::string kept = fs::exists(last) ? last.string() : "none";
  // Every rank finished the same steps, so rank 0's weights are the last step's of all of them:
  // keep them (atomically; the previous checkpoint stays whole if this fails).
  if (rank_ == 0 && saving_allowed_) try {
      seconds_ +=
          std::chrono::duration<double>(std::chrono::steady_clock::now() - epoch_start_).count();
      save(last.string(), true);
      kept = last.string();
    } catch (const std::exception &e) {
      std::fprintf(stderr, "sapnet train: could not save %s: %s\n", last.c_str(), e.what());
    }
  std::fprintf(stderr, "sapnet train: %s; stopping (last checkpoint: %s)\n", failure.what(),
               kept.c_str());
  pg_->report_failure(std::string(failure.what()));
  return 1;
}

int Trainer::run() {
  std::string note;
  int threads = o_.threads;
  // Ranks sharing a machine share its cores.
  if (threads == 0 && o_.rendezvous.local_world_size > 1)
    threads = std::max(1, usable_cpu_cores() / o_.rendezvous.local_world_size);
  torch::set_num_threads(bounded_threads(threads, &note));
  if (!note.empty()) std::fprintf(stderr, "sapnet: --threads: %s\n", note.c_str());
  device_ = torch_device(parse_device(o_.device));
  if (!o_.rendezvous.distributed()) return run_ranks();
  try {
    start_distributed();
    return run_ranks();
  } catch (const dist::PeerFailure &e) {
    return stop_after_peer_failure(e);
  } catch (const StopQuietly &) {
    return 1;
  } catch (const std::exception &e) {
    if (pg_) pg_->report_failure(std::string(e.what()).substr(0, 300));
    throw;
  }
}

int Trainer::run_ranks() {
  const fs::path dir(o_.out_dir);
  const fs::path last = dir / "last.sapnet";
  if (o_.resume) {
    std::string run_json;
    bool has_run_json = false;
    ModelFile m = load_resumed(last, &run_json, &has_run_json);
    restore_run_options(o_, dir, m.network, has_run_json ? &run_json : nullptr);
    o_.init.clear();
    setup_data();
    setup_losses();
    setup_model();
    load_weights(*net_, m.weights);
    if (!m.extra.count("optimizer"))
      throw Error(last.string() + ": has no optimizer state to resume from");
    load_optimizer(*opt_, m.extra["optimizer"].at(0).second, device_);
    const auto &t = m.metadata.at("training");
    epoch_ = t.at("epoch");
    step_in_epoch_ = t.at("step_in_epoch");
    total_steps_ = t.at("steps");
    seconds_ = t.at("seconds");
    if (t.contains("epoch_sums")) {
      loss_sum_ = t["epoch_sums"][0];
      psnr_sum_ = t["epoch_sums"][1];
      counted_ = t["epoch_sums"][2];
    }
    // Another global batch (another number of processes): continue at the step boundary at or
    // before the patch the run had reached.
    if (t.contains("patch_in_epoch")) {
      const size_t at = t["patch_in_epoch"].get<size_t>();
      if (at != step_in_epoch_ * global_batch()) step_in_epoch_ = at / global_batch();
    }
    plot_loss_ = plotted_values(t, "plot_loss");
    plot_psnr_ = plotted_values(t, "plot_psnr");
    last_metrics_ = m.metadata.value("metrics", nlohmann::json::object());
    earlier_phases_ = m.metadata.value("phases", nlohmann::json::array());
    // The interrupted phase is recorded anew when this run saves, with the start it named.
    if (!earlier_phases_.empty()) {
      resumed_init_ = earlier_phases_.back().value("init", "");
      earlier_phases_.erase(earlier_phases_.size() - 1);
    }
    if (rank_ == 0)
      std::fprintf(stderr, "sapnet: resuming %s at epoch %d, step %zu\n", last.c_str(), epoch_ + 1,
                   step_in_epoch_);
  } else {
    if (rank_ == 0 && !o_.benchmark) refuse_to_replace_a_run(dir, o_.overwrite);
    setup_data();
    setup_losses();
    setup_model();
  }
  if (pg_) {
    buckets_ =
        std::make_unique<dist::GradientBuckets>(net_->parameters(), o_.bucket_mb * 1024 * 1024, 4);
    buckets_->broadcast_parameters(*pg_);  // one set of initial weights, rank 0's
    if (rank_ == 0 && terms_.pcl)
      std::fprintf(stderr,
                   "sapnet: note: the perceptual contrastive term is a ratio of batch means, so "
                   "with several processes it is averaged per process, not over the global "
                   "batch\n");
  }
  const int p = data_.patch();
  batch_rainy_ = torch::empty({o_.batch, 3, p, p});
  batch_clean_ = torch::empty({o_.batch, 3, p, p});
  if (rank_ == 0) {
    std::fprintf(stderr, "sapnet: training %s on %s\nsapnet: data: %s\n",
                 o_.network.describe().c_str(), device_.str().c_str(), data_.describe().c_str());
    for (auto &[term, why] : terms_.inactive.items())
      std::fprintf(stderr, "sapnet: loss term %s is off: %s\n", term.c_str(),
                   why.get<std::string>().c_str());
  }
  if (o_.benchmark) return benchmark();

  if (rank_ == 0) {
    std::error_code ec;
    fs::create_directories(dir, ec);
    if (ec) throw Error(dir.string() + ": cannot create output folder (" + ec.message() + ")");
    if (!o_.resume) clear_earlier_run(dir);
    // On resume too: the options now in force (run.json's, with the flags given this time) are
    // what the next --resume continues with.
    write_run_options(o_, dir);
    saving_allowed_ = true;
  }
  g_interrupted = false;
  const StopSignalGuard stop_signals;
  const size_t steps =
      o_.steps_per_epoch ? o_.steps_per_epoch : std::max<size_t>(1, data_.size() / global_batch());
  const auto wall_start = std::chrono::steady_clock::now();
  int status = 0;
  net_->train();
  for (; epoch_ < o_.epochs; ++epoch_, step_in_epoch_ = 0) {
    const double lr = lr_at(o_, epoch_);
    for (auto &g : opt_->param_groups())
      static_cast<torch::optim::AdamOptions &>(g.options()).lr(lr);
    const auto order = epoch_order(data_.size(), o_.seed, epoch_);
    std::optional<Progress> progress;  // rank 0's shows the global throughput
    if (rank_ == 0)
      progress.emplace("epoch " + std::to_string(epoch_ + 1) + "/" + std::to_string(o_.epochs),
                       steps);
    epoch_start_ = std::chrono::steady_clock::now();
    const size_t first_step = step_in_epoch_;
    for (; step_in_epoch_ < steps; ++step_in_epoch_) {
      // Rank r takes its share of the global batch: patches r*batch .. (r+1)*batch-1 of it.
      fill_batch(order, step_in_epoch_ * global_batch() + size_t(rank_) * o_.batch, epoch_);
      auto rainy = batch_rainy_.to(device_), clean = batch_clean_.to(device_);
      // Rank 0's clock decides for every rank, before the step's all-reduce carries it.
      const double wall =
          std::chrono::duration<double>(std::chrono::steady_clock::now() - wall_start).count();
      const bool time_over = o_.max_minutes > 0 && wall > o_.max_minutes * 60;
      double loss_value = 0, mse = 0;
      bool interrupted = false, limited = false;
      if (pg_) {
        std::tie(loss_value, mse) =
            distributed_step(rainy, clean, rank_ == 0 && time_over, &interrupted, &limited);
      } else {
        nlohmann::json terms;
        opt_->zero_grad();
        torch::Tensor out;
        auto loss = step_loss(rainy, clean, terms, &out);
        loss_value = loss.item<double>();
        // before the update: the weights are still the last good
        if (!std::isfinite(loss_value)) diverged(loss_value, lr, last);
        loss.backward();
        opt_->step();
        // Batch PSNR (before this step's update), for the progress line.
        mse = (out.clamp(0, 1) - clean).pow(2).mean().item<double>();
      }
      ++total_steps_;
      loss_sum_ += loss_value;
      psnr_sum_ += 10 * std::log10(1.0 / std::max(mse, 1e-10));
      ++counted_;
      if (progress) {
        char note[128];
        const int n = std::snprintf(note, sizeof note, "loss %.4f psnr %.2f lr %.1e",
                                    loss_sum_ / counted_, psnr_sum_ / counted_, lr);
        if (pg_ && n > 0 && size_t(n) < sizeof note)
          std::snprintf(note + n, sizeof note - n, " %.1f patches/s",
                        (step_in_epoch_ + 1 - first_step) * global_batch() /
                            std::max(1e-9, progress->elapsed_seconds()));
        progress->update(step_in_epoch_ + 1, note);
      }
      if (!pg_) {
        const double now =
            std::chrono::duration<double>(std::chrono::steady_clock::now() - wall_start).count();
        interrupted = g_interrupted;
        limited = o_.max_minutes > 0 && now > o_.max_minutes * 60;
      }
      if (interrupted || limited) {
        ++step_in_epoch_;
        seconds_ +=
            std::chrono::duration<double>(std::chrono::steady_clock::now() - epoch_start_).count();
        if (rank_ == 0) {
          save(last.string(), true);
          std::fprintf(stderr, "\nsapnet: %s; saved %s (resume with --resume)\n",
                       interrupted ? "interrupted" : "time limit reached", last.c_str());
        }
        if (pg_) pg_->finish();
        return interrupted ? 130 : 0;
      }
    }
    seconds_ +=
        std::chrono::duration<double>(std::chrono::steady_clock::now() - epoch_start_).count();
    const double mean_loss = counted_ ? loss_sum_ / counted_ : 0.0;
    std::string validation_error;
    if (rank_ == 0) {
      double vpsnr = 0, vssim = 0;
      try {
        std::tie(vpsnr, vssim) = validate();
      } catch (const std::exception &e) {
        // The epoch's training is kept: logged as an epoch without validation and saved as done
        // below, so that --resume goes on after it; the error stops the run then.
        validation_error = std::string("validation after epoch ") + std::to_string(epoch_ + 1) +
                           " failed: " + e.what() + " (the epoch is saved in " + last.string() +
                           "; --resume continues)";
      }
      progress->finish(!validation_error.empty() ? "validation failed"
                       : val_.empty()            ? ""
                                      : "val psnr " + std::to_string(vpsnr).substr(0, 5));
      plot_loss_.push_back(mean_loss);
      plot_psnr_.push_back(vpsnr);
      if (!val_.empty() && validation_error.empty())
        last_metrics_ = {{"val", dataset_name(o_.val)},
                         {"val_psnr", vpsnr},
                         {"val_ssim", vssim},
                         {"val_count", val_.size()}};
      // The checkpoint first: logs written before it would get a second row for this epoch when
      // the save fails (a full disk, a kill) and --resume trains the epoch again.
      save_epoch_done(last);
      log_epoch({{"epoch", epoch_ + 1},
                 {"lr", lr},
                 {"loss", mean_loss},
                 {"val_psnr", vpsnr},
                 {"val_ssim", vssim},
                 {"steps", total_steps_},
                 {"seconds", seconds_}});
    }
    if (!validation_error.empty()) throw Error(validation_error);
    step_in_epoch_ = 0;
    loss_sum_ = psnr_sum_ = 0;
    counted_ = 0;
    if (pg_) {
      // The others wait here, however long rank 0 validates, for as long as it is alive.
      const std::string key = "epoch/" + std::to_string(epoch_);
      pg_->rank0_reached(key);
      pg_->wait_for_rank0(key);
    }
  }
  if (pg_) {
    // Averaged gradients keep the ranks' weights equal bit for bit; a difference is a bug, so it
    // fails the run on every rank rather than go unnoticed.
    const bool same = buckets_->same_as_rank0(*pg_);
    buckets_->extras().select(0, 2).fill_(same ? 0.0 : 1.0);
    buckets_->average(*pg_);
    const torch::Tensor flags = buckets_->extras().cpu();
    if (flags[2].item<float>() > 0)
      throw Error(same ? "the weights of another rank differ from rank 0's"
                       : pg_->env().who(rank_) + ": weights differ from rank 0's");
  }
  if (rank_ == 0) {
    save((dir / "model.sapnet").string(), false);
    std::fprintf(stderr, "sapnet: done: %s (%lld steps, %s)\n", (dir / "model.sapnet").c_str(),
                 static_cast<long long>(total_steps_), format_duration(seconds_).c_str());
  }
  if (pg_) pg_->finish();
  return status;
}

}  // namespace

void apply_ablation(const std::string &name, TrainOptions &o) {
  auto losses = [&](bool seg, bool pcl, bool lpips) {
    o.w_ssim = 1.0;
    o.w_l1 = 0.0;
    o.w_seg = seg ? 0.1 : 0.0;
    o.w_pcl = pcl ? 0.1 : 0.0;
    o.w_lpips = lpips ? 0.1 : 0.0;
  };
  NetworkConfig sap = NetworkConfig::sapnet();
  if (name == "M1") {
    o.network = sap, o.network.dilations = {1, 1, 1, 1, 1}, losses(false, false, false);
  } else if (name == "M2") {
    o.network = sap, o.network.cra = false, losses(false, false, false);
  } else if (name == "M3") {
    o.network = sap, losses(false, false, false);
  } else if (name == "M4") {
    o.network = sap, losses(true, false, false);
  } else if (name == "M5") {
    o.network = sap, losses(true, true, false);
  } else if (name == "M6") {
    o.network = sap, losses(true, true, true);
  } else {
    throw Error("unknown ablation '" + name + "' (expected M1..M6)");
  }
}

int train(const TrainOptions &options) {
  return Trainer(options).run();
}

}  // namespace sapnet
