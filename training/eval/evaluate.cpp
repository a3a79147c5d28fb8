#include "eval/evaluate.h"

#include <string>

#include "error.h"
#include "metrics/metrics.h"

namespace sapnet {

Scores evaluate_pairs(Engine *engine, size_t count, const PairAt &pair_at,
                      const std::function<void(const Scores &)> &on_pair, const PairName &name_of) {
  double sum_psnr = 0, sum_ssim = 0;
  Scores mean;
  for (size_t i = 0; i < count; ++i) {
    const auto name = [&] { return name_of ? name_of(i) : "pair " + std::to_string(i + 1); };
    auto [rainy, clean] = pair_at(i);
    if (rainy.width != clean.width || rainy.height != clean.height)
      throw Error(name() + ": the rainy and clean images differ in size");
    try {
      if (engine) engine->process(rainy.view(), rainy.view());
      sum_psnr += psnr(rainy, clean);
      sum_ssim += ssim(rainy, clean);
    } catch (const Error &e) {
      throw Error(name() + ": " + e.what());
    }
    mean = {sum_psnr / double(i + 1), sum_ssim / double(i + 1), i + 1};
    if (on_pair) on_pair(mean);
  }
  return mean;
}

}  // namespace sapnet
