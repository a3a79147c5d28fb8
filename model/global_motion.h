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
// the least mean absolute difference over the frames' overlap. Both images must have one size.
Translation estimate_translation(const LumaImage &previous, const LumaImage &current,
                                 int max_shift = 64);

}  // namespace sapnet
