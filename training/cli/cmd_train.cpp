// sapnet train: SAPNet with the paper's losses on paired, synthesized or packed data.
#include <unistd.h>

#include <algorithm>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>

#include "commands.h"
#include "distributed/launcher.h"
#include "error.h"
#include "host_resources.h"
#include "train/trainer.h"

namespace sapnet::cli {
namespace {

std::string self_exe() {
  std::error_code ec;
  const auto p = std::filesystem::read_symlink("/proc/self/exe", ec);
  if (ec) throw Error("cannot find the sapnet executable (/proc/self/exe): " + ec.message());
  return p.string();
}

// The launcher's own flags, which its ranks must not see again.
std::vector<std::string> rank_arguments(std::vector<std::string> args) {
  for (const char *flag : {"--nproc", "--benchmark-report", "--threads"})
    args = dist::without_option(args, flag);
  // --benchmark-procs takes several values ("1 2 4").
  std::vector<std::string> out;
  for (size_t i = 0; i < args.size(); ++i) {
    if (args[i].rfind("--benchmark-procs", 0) == 0) {
      if (args[i] == "--benchmark-procs")
        while (i + 1 < args.size() && args[i + 1].rfind("-", 0) != 0) ++i;
      continue;
    }
    out.push_back(args[i]);
  }
  return out;
}

// `--benchmark` outside a launcher: the same short run with 1, 2, ... processes (each a fresh
// launch, the same threads per process), then steps/s and the scaling efficiency: the global
// throughput over N times one process's.
int benchmark_sweep(const TrainOptions &o, const std::vector<int> &procs, bool json) {
  const int most = *std::max_element(procs.begin(), procs.end());
  const int threads = o.threads > 0 ? o.threads : std::max(1, usable_cpu_cores() / most);
  std::vector<std::string> args = rank_arguments(command_line());
  args.erase(std::remove(args.begin(), args.end(), "--json"), args.end());
  const auto report = std::filesystem::temp_directory_path() /
                      ("sapnet-benchmark-" + std::to_string(::getpid()) + ".json");
  nlohmann::json runs = nlohmann::json::array();
  for (int n : procs) {
    dist::LaunchOptions lo;
    lo.exe = self_exe();
    lo.args = args;
    lo.args.insert(lo.args.end(),
                   {"--threads", std::to_string(threads), "--benchmark-report", report.string()});
    lo.nproc = n;
    lo.grace_s = o.dist_timeout + 15;
    std::filesystem::remove(report);
    const int status = dist::launch_local(lo);
    std::ifstream in(report);
    if (status != 0 || !in)
      throw Error("--benchmark with " + std::to_string(n) + " process(es) failed (status " +
                  std::to_string(status) + ")");
    runs.push_back(nlohmann::json::parse(in));
    std::filesystem::remove(report);
  }
  double base = 0;
  for (auto &r : runs)
    if (r["processes"] == 1) base = r["patches_per_s"];
  for (auto &r : runs)
    r["scaling_efficiency"] =
        base > 0
            ? nlohmann::json(r["patches_per_s"].get<double>() / (r["processes"].get<int>() * base))
            : nlohmann::json();
  if (json) {
    std::printf("%s\n",
                nlohmann::json{{"runs", runs}, {"threads_per_process", threads}}.dump().c_str());
    return 0;
  }
  std::printf("processes  global batch  steps/s  patches/s  scaling efficiency\n");
  for (auto &r : runs) {
    char eff[16] = "-";
    if (!r["scaling_efficiency"].is_null())
      std::snprintf(eff, sizeof eff, "%.0f%%", 100 * r["scaling_efficiency"].get<double>());
    std::printf("%9d  %12d  %7.3f  %9.2f  %18s\n", r["processes"].get<int>(),
                r["global_batch"].get<int>(), r["steps_per_s"].get<double>(),
                r["patches_per_s"].get<double>(), eff);
  }
  std::printf("(%s, %d thread(s) per process, batch %d per process, %d timed steps)\n",
              runs.back()["device"].get<std::string>().c_str(), threads, o.batch,
              o.benchmark_steps);
  return 0;
}

}  // namespace

void add_train(CLI::App &app) {
  auto o = std::make_shared<TrainOptions>();
  auto ablation = std::make_shared<std::string>();
  auto prenet = std::make_shared<bool>(false);
  auto nproc = std::make_shared<int>(1);
  auto procs = std::make_shared<std::vector<int>>(std::vector<int>{1, 2});
  auto json = std::make_shared<bool>(false);
  auto *cmd = app.add_subcommand(
      "train", "Train SAPNet (SSIM, segmentation, perceptual contrastive and LPIPS losses)");
  cmd->add_option("--paired", o->paired, "Paired folder(s): input/+target/ or rain-N/norain-N")
      ->group("Data");
  cmd->add_option("--clean", o->clean,
                  "Clean images, folders or videos; rain is synthesized on the fly")
      ->group("Data");
  cmd->add_option("--packed", o->packed,
                  "Patch files written by `sapnet pack` (no image decoder needed)")
      ->group("Data");
  cmd->add_option("--val", o->val, "Paired folder scored (PSNR/SSIM) after each epoch")
      ->group("Data");
  cmd->add_option("--val-limit", o->val_limit, "Score only the first N validation pairs")
      ->group("Data");
  cmd->add_option("--patch", o->patch, "Patch side in pixels")
      ->capture_default_str()
      ->check(CLI::Range(16, 1024))
      ->group("Data");
  cmd->add_option("--stride", o->stride, "Patch grid step")
      ->capture_default_str()
      ->check(CLI::Range(1, 1024))
      ->group("Data");
  cmd->add_option("--video-step", o->video_step, "Use every Nth frame of --clean videos")
      ->capture_default_str()
      ->group("Data");
  cmd->add_option("--max-side", o->max_side,
                  "Shrink --clean images so that the longer side is at most this (0 = as they are)")
      ->group("Data");
  cmd->add_option("--heavy-fraction", o->heavy_fraction,
                  "Share of synthesized patches with heavy rain: streak layers, haze, lens drops")
      ->capture_default_str()
      ->check(CLI::Range(0.0, 1.0))
      ->group("Data");
  cmd->add_flag("--skip-bad", o->skip_bad,
                "Warn and skip unreadable or mismatched images instead of stopping")
      ->group("Data");

  cmd->add_option("--stages", o->network.stages, "Recurrent stages")
      ->capture_default_str()
      ->check(CLI::Range(1, 16))
      ->group("Network");
  cmd->add_option("--channels", o->network.channels, "Feature channels")
      ->capture_default_str()
      ->group("Network");
  cmd->add_option("--dilations", o->network.dilations, "Dilation of each unit")
      ->capture_default_str()
      ->group("Network");
  cmd->add_flag("--prenet", *prenet, "PReNet: dilation 1 everywhere, no CRA")->group("Network");
  cmd->add_option("--init", o->init, "Start from these weights (any model file)")->group("Network");
  cmd->add_option("--ablation", *ablation, "Table 2 preset M1..M6 (sets network and loss weights)")
      ->group("Network");

  cmd->add_option("--stage-weights", o->stage_weights,
                  "Loss weight of each stage's output, one per stage, so that early exits are "
                  "usable (default: the last stage alone, as the paper)")
      ->group("Loss");
  cmd->add_option("--w-ssim", o->w_ssim, "Weight of -SSIM (eq. 1)")
      ->capture_default_str()
      ->group("Loss");
  cmd->add_option("--w-l1", o->w_l1, "Weight of an L1 pixel term (not in the paper; 0 = off)")
      ->capture_default_str()
      ->group("Loss");
  cmd->add_option("--w-seg", o->w_seg, "Weight of the UBS focal loss (eq. 2)")
      ->capture_default_str()
      ->group("Loss");
  cmd->add_option("--w-pcl", o->w_pcl, "Weight of the perceptual contrastive loss (eq. 3)")
      ->capture_default_str()
      ->group("Loss");
  cmd->add_option("--w-lpips", o->w_lpips, "Weight of the LPIPS loss (eq. 4)")
      ->capture_default_str()
      ->group("Loss");
  cmd->add_option("--vgg-weights", o->vgg_weights,
                  "torchvision vgg16 state dict (ImageNet) for PCL and LPIPS")
      ->group("Loss");
  cmd->add_option("--lpips-weights", o->lpips_weights, "LPIPS heads, e.g. v0.1_vgg.pth")
      ->group("Loss");
  cmd->add_option("--seg-backbone", o->seg_backbone,
                  "vgg16 state dict for the UBS trunk (default: --vgg-weights)")
      ->group("Loss");

  cmd->add_option("--epochs", o->epochs, "Epochs")
      ->capture_default_str()
      ->check(CLI::Range(1, 100000))
      ->group("Schedule");
  cmd->add_option("--batch", o->batch, "Patches per step")
      ->capture_default_str()
      ->check(CLI::Range(1, 4096))
      ->group("Schedule");
  cmd->add_option("--lr", o->lr, "Adam learning rate")->capture_default_str()->group("Schedule");
  cmd->add_option("--milestones", o->milestones, "Epochs at which lr is multiplied by --gamma")
      ->capture_default_str()
      ->group("Schedule");
  cmd->add_option("--gamma", o->gamma, "Learning-rate factor at each milestone")
      ->capture_default_str()
      ->group("Schedule");
  cmd->add_option("--steps-per-epoch", o->steps_per_epoch,
                  "Steps per epoch (0 = one pass over the patches)")
      ->group("Schedule");
  cmd->add_option("--seed", o->seed,
                  "Seed of patch order, crops, flips and rain (a CPU run repeats bit for bit)")
      ->capture_default_str()
      ->group("Schedule");

  cmd->add_option("-o,--output", o->out_dir, "Folder for checkpoints, logs and the plot")
      ->capture_default_str()
      ->group("Run");
  auto *resume =
      cmd->add_flag("--resume", o->resume,
                    "Continue from OUTPUT/last.sapnet exactly where it stopped, with the run's own "
                    "options (OUTPUT/run.json); flags given now replace them")
          ->group("Run");
  cmd->add_flag("--overwrite", o->overwrite,
                "Start a new run in an OUTPUT folder that holds one, replacing its checkpoints "
                "and logs")
      ->excludes(resume)
      ->group("Run");
  cmd->add_option("--max-minutes", o->max_minutes,
                  "Stop after this long, saving a resumable checkpoint")
      ->group("Run");
  cmd->add_option("--device", o->device, "cpu, cuda or cuda:N")
      ->capture_default_str()
      ->group("Run");
  cmd->add_option_function<std::string>(
         "--precision", [o](const std::string &name) { o->precision = parse_precision(name); },
         "fp32, or bf16: mixed precision (the forward pass in bf16, weights and losses fp32; "
         "1.4 to 1.7 times fp32's steps/s on a CPU with AVX512-BF16)")
      ->default_str("fp32")
      ->group("Run");
  cmd->add_option("--threads", o->threads, "CPU threads (0 = every usable core)")
      ->check(CLI::Range(0, 100000))
      ->group("Run");
  cmd->add_flag("--benchmark", o->benchmark,
                "Time a few training steps; print steps/s and patches/s")
      ->group("Run");
  cmd->add_option("--benchmark-steps", o->benchmark_steps, "Steps timed by --benchmark")
      ->capture_default_str()
      ->group("Run");
  cmd->add_option("--benchmark-procs", *procs,
                  "Process counts --benchmark compares (steps/s and scaling efficiency)")
      ->capture_default_str()
      ->check(CLI::Range(1, 1024))
      ->group("Run");
  cmd->add_flag("--json", *json, "--benchmark: print JSON instead of the table")->group("Run");
  cmd->add_option("--benchmark-report", o->benchmark_report,
                  "Where rank 0 writes the --benchmark result (JSON)")
      ->group("");  // the sweep's own plumbing

  cmd->add_option("--nproc", *nproc,
                  "Train data-parallel with N processes on this machine (one GPU each on CUDA; "
                  "no launcher needed). Under torchrun, srun or a PyTorchJob leave it out: the "
                  "launcher's environment says the ranks")
      ->capture_default_str()
      ->check(CLI::Range(1, 1024))
      ->group("Distributed");
  cmd->add_option("--dist-timeout", o->dist_timeout,
                  "Seconds a process waits for an unresponsive other before every process stops "
                  "(the last checkpoint stays resumable); also bounds the start-up meeting")
      ->capture_default_str()
      ->check(CLI::Range(0.5, 1e7))
      ->group("Distributed");
  cmd->add_option("--bucket-mb", o->bucket_mb, "Gradient all-reduce bucket size in MB")
      ->capture_default_str()
      ->check(CLI::Range(1e-6, 1e5))
      ->group("Distributed");
  cmd->callback([o, ablation, prenet, nproc, procs, json, cmd] {
    TrainOptions opts = *o;
    for (const CLI::Option *opt : cmd->get_options())
      if (opt->count() > 0 && !opt->get_lnames().empty())
        opts.given.push_back(opt->get_lnames()[0]);
    if (*prenet)
      opts.network.dilations.assign(opts.network.dilations.size(), 1), opts.network.cra = false;
    if (!ablation->empty()) apply_ablation(*ablation, opts);
    opts.network.validate();
    opts.rendezvous = dist::rendezvous_from_env();
    if (*nproc > 1 && opts.rendezvous.distributed())
      throw Error("--nproc starts its own processes, but a launcher already started " +
                  std::to_string(opts.rendezvous.world_size) +
                  " (WORLD_SIZE/SLURM_NTASKS): " + "leave --nproc out");
    if (opts.benchmark && opts.benchmark_report.empty() && !opts.rendezvous.distributed()) {
      benchmark_sweep(opts, *procs, *json);
      return;
    }
    if (*nproc > 1) {
      dist::LaunchOptions lo;
      lo.exe = self_exe();
      lo.args = dist::without_option(command_line(), "--nproc");
      lo.nproc = *nproc;
      lo.grace_s = opts.dist_timeout + 15;
      const int status = dist::launch_local(lo);
      if (status != 0) throw CLI::RuntimeError(status);
      return;
    }
    const int status = train(opts);
    if (status != 0) throw CLI::RuntimeError(status);
  });
}

}  // namespace sapnet::cli
