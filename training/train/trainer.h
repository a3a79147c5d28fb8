// sapnet train: SAPNet with the seed paper's losses, schedule and run control. Torch-free header.
#pragma once

#include <string>
#include <vector>

#include "device.h"
#include "distributed/rendezvous.h"
#include "network_config.h"

namespace sapnet {

struct TrainOptions {
  // Data: any mix of sources; patches of every source make up an epoch.
  std::vector<std::string> paired;  // paired folders
  std::vector<std::string> clean;   // clean images, folders or videos: rain synthesized on the fly
  std::vector<std::string> packed;  // files written by `sapnet pack`
  std::string val;                  // paired folder scored each epoch (PSNR/SSIM)
  size_t val_limit = 0;             // score only the first N validation pairs (0 = all)
  int patch = 100, stride = 80, video_step = 10;
  int max_side = 0;  // shrink --clean images to this longer side first (0 = as they are)
  bool skip_bad = false;
  double heavy_fraction = 0;  // share of synthesized patches with heavy rain (layers, haze, drops)

  NetworkConfig network;
  std::string init;  // start from these weights (any model file) instead of random ones

  // Eq. 5 weights; a term is active when its weight is > 0 and what it needs is present.
  double w_ssim = 1.0, w_seg = 0.1, w_pcl = 0.1, w_lpips = 0.1;
  // Not in the paper: an L1 pixel term (0 = off). SSIM alone corrects colour casts slowly, which
  // matters for short CPU trainings.
  double w_l1 = 0.0;
  // Loss weight of each stage's output (early exits); empty = the last stage alone (the paper).
  std::vector<double> stage_weights;
  std::string vgg_weights;    // torchvision vgg16 state dict (ImageNet): needed by PCL and LPIPS
  std::string lpips_weights;  // LPIPS heads (v0.1_vgg.pth)
  std::string
      seg_backbone;  // torchvision vgg16 state dict for the UBS trunk (default: vgg_weights)
  int seg_classes = 8;

  int epochs = 100, batch = 12;
  double lr = 1e-4, gamma = 0.2;
  std::vector<int> milestones{30, 50, 80};
  size_t steps_per_epoch = 0;  // 0: one pass over the patches
  uint64_t seed = 0;
  std::string device = "cpu";
  // kFp32, or kBf16: the forward pass under autocast (1.4 to 1.7 times the steps per second on a
  // CPU with AVX512-BF16); weights, gradients, optimizer and losses stay fp32.
  Precision precision = Precision::kFp32;
  int threads = 0;

  std::string out_dir = "train-out";
  bool resume = false;
  // A new run in a folder that holds one (last.sapnet or run.json) is refused unless this is set:
  // then the old run's checkpoints and logs are replaced.
  bool overwrite = false;
  // Flags given on the command line ("stages", "lr", ...). When set (the command line), a resumed
  // run takes every other option from its folder's run.json, so that `--resume -o DIR` alone
  // continues it; empty (a program's own options), the options are used as they are.
  std::vector<std::string> given;
  double max_minutes = 0;  // stop (saving a resumable checkpoint) after this long; 0 = no limit
  bool benchmark = false;
  int benchmark_steps = 5;
  std::string benchmark_report;  // where rank 0 writes the --benchmark result (JSON); empty: stdout

  // Data parallelism (training/distributed/): this process's place among the ranks (a single
  // process by default; the command reads the launcher's environment). --batch is per rank: the
  // global batch is batch x world size.
  dist::Rendezvous rendezvous;
  double dist_timeout = 300;  // seconds a rank waits for an unresponsive other before stopping
  double bucket_mb = 25;      // gradient all-reduce bucket size
};

// Sets the network and the loss weights of the seed paper's Table 2 ablations M1..M6 (our reading:
// M1 CRA without dilation, M2 dilation without CRA, M3 both; M4 +L_seg, M5 +L_pcl, M6 +L_lpisl).
// Throws sapnet::Error for an unknown name.
void apply_ablation(const std::string &name, TrainOptions &options);

// Runs training; returns the process exit status (0 done, 130 interrupted after saving).
// Throws sapnet::Error on bad input.
int train(const TrainOptions &options);

}  // namespace sapnet
