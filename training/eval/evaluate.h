// The one evaluation loop of `sapnet eval` and the trainer's validation: each rainy image derained
// by the Engine (the one inference path) and scored against its clean image.
#pragma once

#include <cstddef>
#include <functional>
#include <string>
#include <utility>

#include "data/image.h"
#include "engine.h"

namespace sapnet {

struct Scores {
  double psnr = 0, ssim = 0;  // means over the pairs scored so far
  size_t count = 0;
};

// The i-th (rainy, clean) pair.
using PairAt = std::function<std::pair<RgbImage, RgbImage>(size_t i)>;

// The name errors give the i-th pair (its rainy file).
using PairName = std::function<std::string(size_t i)>;

// Scores `count` pairs: the Engine's output, or the rainy image itself when `engine` is null.
// `on_pair` (optional) sees the running means after each pair. Throws sapnet::Error when the two
// images of a pair differ in size or a pair cannot be scored, naming the pair by `name_of` (by
// its number when that is empty).
Scores evaluate_pairs(Engine *engine, size_t count, const PairAt &pair_at,
                      const std::function<void(const Scores &)> &on_pair = {},
                      const PairName &name_of = {});

}  // namespace sapnet
