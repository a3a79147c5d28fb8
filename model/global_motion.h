// The camera's motion between two frames as one whole-pixel translation (a pan, a tilt, a shake),
// found coarse to fine on a luma pyramid: what the temporal smoother aligns its history by, so that
// a moving camera does not smear the picture. Torch-free.
#pragma once

#include <vector>

namespace sapnet {

// A grey image, row-major, values 0..255.
struct LumaImage {
  int width = 0, height = 0;
  std::vector<float> pixels;
};

struct Translation {
  int dx = 0, dy = 0;  // `current(x, y)` shows what `previous(x + dx, y + dy)` showed
};

// The translation (within +-max_shift pixels each way) that best maps `previous` onto `current`:
// the least mean absolute difference over the frames' overlap. Keeps its pyramid levels from call
// to call, so that estimating frame after frame allocates nothing once the size is known.
class TranslationEstimator {
 public:
  // Both images must have one size; throws sapnet::Error otherwise.
  Translation estimate(const LumaImage &previous, const LumaImage &current, int max_shift = 64);

 private:
  std::vector<LumaImage> previous_levels_, current_levels_;  // halvings of the inputs
};

// One estimate with a fresh estimator.
Translation estimate_translation(const LumaImage &previous, const LumaImage &current,
                                 int max_shift = 64);

}  // namespace sapnet
