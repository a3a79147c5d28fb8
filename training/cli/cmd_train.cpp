// sapnet train: SAPNet with the paper's losses on paired, synthesized or packed data.
#include <cstdio>

#include "commands.h"
#include "error.h"
#include "train/trainer.h"

namespace sapnet::cli {

void add_train(CLI::App &app) {
  auto o = std::make_shared<TrainOptions>();
  auto ablation = std::make_shared<std::string>();
  auto prenet = std::make_shared<bool>(false);
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
  cmd->add_flag("--resume", o->resume,
                "Continue from OUTPUT/last.sapnet exactly where it stopped, with the run's own "
                "options (OUTPUT/run.json); flags given now replace them")
      ->group("Run");
  cmd->add_option("--max-minutes", o->max_minutes,
                  "Stop after this long, saving a resumable checkpoint")
      ->group("Run");
  cmd->add_option("--device", o->device, "cpu, cuda or cuda:N")
      ->capture_default_str()
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
  cmd->callback([o, ablation, prenet, cmd] {
    TrainOptions opts = *o;
    for (const CLI::Option *opt : cmd->get_options())
      if (opt->count() > 0 && !opt->get_lnames().empty())
        opts.given.push_back(opt->get_lnames()[0]);
    if (*prenet)
      opts.network.dilations.assign(opts.network.dilations.size(), 1), opts.network.cra = false;
    if (!ablation->empty()) apply_ablation(*ablation, opts);
    opts.network.validate();
    const int status = train(opts);
    if (status != 0) throw CLI::RuntimeError(status);
  });
}

}  // namespace sapnet::cli
