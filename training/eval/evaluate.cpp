#include "eval/evaluate.h"

#include <string>

#include "error.h"
#include "metrics/metrics.h"

namespace sapnet {

Scores evaluate_pairs(Engine *engine, size_t count, const PairAt &pair_at,
                      const std::function<void(const Scores &)> &on_pair) {
  double sum_psnr = 0, sum_ssim = 0;
  Scores mean;
  for (size_t i = 0; i < count; ++i) {
    auto [rainy, clean] = pair_at(i);
    if (rainy.width != clean.width || rainy.height != clean.height)
      throw Error("pair " + std::to_string(i + 1) + ": the rainy and clean images differ in size");
    if (engine) engine->process(rainy.view(), rainy.view());
    sum_psnr += psnr(rainy, clean);
    sum_ssim += ssim(rainy, clean);
    mean = {sum_psnr / double(i + 1), sum_ssim / double(i + 1), i + 1};
    if (on_pair) on_pair(mean);
  }
  return mean;
}

}  // namespace sapnet
