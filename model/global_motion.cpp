#include "global_motion.h"

#include <algorithm>
#include <cmath>
#include <limits>

#include "error.h"

namespace sapnet {
namespace {

// `out` = `img` halved by 2x2 averaging; `out` keeps its buffer when the size is unchanged.
void half_size(const LumaImage &img, LumaImage &out) {
  out.width = img.width / 2, out.height = img.height / 2;
  out.pixels.resize(size_t(out.width) * out.height);
  for (int y = 0; y < out.height; ++y)
    for (int x = 0; x < out.width; ++x) {
      const float *r0 = &img.pixels[size_t(2 * y) * img.width + 2 * x];
      const float *r1 = r0 + img.width;
      out.pixels[size_t(y) * out.width + x] = 0.25f * (r0[0] + r0[1] + r1[0] + r1[1]);
    }
}

// Mean |previous(x + dx, y + dy) - current(x, y)| over the overlap; +inf when the overlap is
// under half the frame (a shift that large cannot be judged).
double cost(const LumaImage &previous, const LumaImage &current, int dx, int dy) {
  const int x0 = std::max(0, -dx), x1 = std::min(current.width, previous.width - dx);
  const int y0 = std::max(0, -dy), y1 = std::min(current.height, previous.height - dy);
  if ((x1 - x0) * 2 < current.width || (y1 - y0) * 2 < current.height)
    return std::numeric_limits<double>::infinity();
  double sum = 0;
  for (int y = y0; y < y1; ++y) {
    const float *c = &current.pixels[size_t(y) * current.width];
    const float *p = &previous.pixels[size_t(y + dy) * previous.width + dx];
    for (int x = x0; x < x1; ++x) sum += std::fabs(p[x] - c[x]);
  }
  return sum / (double(x1 - x0) * (y1 - y0));
}

// The best shift within `radius` of (cx, cy); ties keep the smaller motion.
Translation search(const LumaImage &previous, const LumaImage &current, int cx, int cy,
                   int radius) {
  Translation best{cx, cy};
  double best_cost = std::numeric_limits<double>::infinity();
  for (int dy = cy - radius; dy <= cy + radius; ++dy)
    for (int dx = cx - radius; dx <= cx + radius; ++dx) {
      const double c = cost(previous, current, dx, dy);
      const bool smaller = std::abs(dx) + std::abs(dy) < std::abs(best.dx) + std::abs(best.dy);
      if (c < best_cost - 1e-9 || (c <= best_cost + 1e-9 && smaller))
        best_cost = c, best = {dx, dy};
    }
  return best;
}

}  // namespace

Translation TranslationEstimator::estimate(const LumaImage &previous, const LumaImage &current,
                                           int max_shift) {
  if (previous.width != current.width || previous.height != current.height)
    throw Error("estimate_translation: frames of different sizes");
  // Too small to tell a pan from a change in the picture.
  if (std::min(current.width, current.height) < 32) return {};
  // Levels down to about 48 pixels on the short side (level 0: the inputs themselves); the top
  // one is searched exhaustively, each finer one around the coarser answer.
  size_t levels = 0;
  for (int side = std::min(current.width, current.height); side >= 96 && levels < 5; side /= 2)
    ++levels;
  previous_levels_.resize(levels);
  current_levels_.resize(levels);
  auto level = [&](const std::vector<LumaImage> &halvings, const LumaImage &full,
                   size_t k) -> const LumaImage & { return k == 0 ? full : halvings[k - 1]; };
  for (size_t k = 0; k < levels; ++k) {
    half_size(level(previous_levels_, previous, k), previous_levels_[k]);
    half_size(level(current_levels_, current, k), current_levels_[k]);
  }
  const int top = int(levels);
  const int radius = std::max(1, (max_shift + (1 << top) - 1) >> top);
  Translation t = search(level(previous_levels_, previous, top),
                         level(current_levels_, current, top), 0, 0, radius);
  for (int k = top - 1; k >= 0; --k)
    t = search(level(previous_levels_, previous, k), level(current_levels_, current, k), 2 * t.dx,
               2 * t.dy, 1);
  t.dx = std::clamp(t.dx, -max_shift, max_shift);
  t.dy = std::clamp(t.dy, -max_shift, max_shift);
  // A still camera stays still unless the move clearly explains the frame better: a small overlap
  // can look better only because it leaves out what changed.
  if ((t.dx || t.dy) &&
      !(cost(previous, current, t.dx, t.dy) < 0.8 * cost(previous, current, 0, 0)))
    return {};
  return t;
}

Translation estimate_translation(const LumaImage &previous, const LumaImage &current,
                                 int max_shift) {
  return TranslationEstimator().estimate(previous, current, max_shift);
}

}  // namespace sapnet
