#include "rain.h"

#include <algorithm>
#include <cmath>
#include <string>
#include <vector>

#include "error.h"

namespace sapnet {
namespace {

// Uniform in [0, 1) from 53 random bits: the same on every standard library (unlike the
// std:: distributions, whose algorithms are implementation-defined).
double uniform(std::mt19937_64 &rng) {
  return (rng() >> 11) * (1.0 / 9007199254740992.0);
}
double uniform(std::mt19937_64 &rng, double lo, double hi) {
  return lo + (hi - lo) * uniform(rng);
}
double normal(std::mt19937_64 &rng) {  // Box-Muller
  const double u1 = std::max(uniform(rng), 1e-300), u2 = uniform(rng);
  return std::sqrt(-2.0 * std::log(u1)) * std::cos(2.0 * M_PI * u2);
}

// Separable Gaussian blur of one plane in place (edges clamp).
void blur_plane(std::vector<float> &plane, int w, int h, double sigma) {
  const int radius = std::max(1, static_cast<int>(std::ceil(3 * sigma)));
  std::vector<float> k(2 * radius + 1);
  float sum = 0;
  for (int i = -radius; i <= radius; ++i)
    sum += k[i + radius] = std::exp(-0.5 * i * i / (sigma * sigma));
  for (auto &v : k) v /= sum;
  std::vector<float> tmp(plane.size());
  for (int y = 0; y < h; ++y)
    for (int x = 0; x < w; ++x) {
      float s = 0;
      for (int i = -radius; i <= radius; ++i)
        s += k[i + radius] * plane[size_t(y) * w + std::clamp(x + i, 0, w - 1)];
      tmp[size_t(y) * w + x] = s;
    }
  for (int y = 0; y < h; ++y)
    for (int x = 0; x < w; ++x) {
      float s = 0;
      for (int i = -radius; i <= radius; ++i)
        s += k[i + radius] * tmp[size_t(std::clamp(y + i, 0, h - 1)) * w + x];
      plane[size_t(y) * w + x] = s;
    }
}

// Draws one streak into the layer: a segment of the given width, brightest in the middle of its
// length, with a one-pixel soft edge.
void draw_streak(std::vector<float> &layer, int w, int h, double cx, double cy, double len,
                 double angle_rad, double width, float intensity) {
  const double dx = std::sin(angle_rad), dy = std::cos(angle_rad);
  const double half = len / 2, reach = width / 2 + 1;
  const int x0 = std::max(0, int(std::floor(cx - std::abs(dx) * half - reach)));
  const int x1 = std::min(w - 1, int(std::ceil(cx + std::abs(dx) * half + reach)));
  const int y0 = std::max(0, int(std::floor(cy - std::abs(dy) * half - reach)));
  const int y1 = std::min(h - 1, int(std::ceil(cy + std::abs(dy) * half + reach)));
  for (int y = y0; y <= y1; ++y)
    for (int x = x0; x <= x1; ++x) {
      const double px = x + 0.5 - cx, py = y + 0.5 - cy;
      const double along = px * dx + py * dy, across = std::abs(px * dy - py * dx);
      if (std::abs(along) > half) continue;
      const double edge = std::clamp(width / 2 + 0.5 - across, 0.0, 1.0);  // coverage across
      if (edge <= 0) continue;
      const double taper = 1.0 - std::pow(std::abs(along) / half, 4.0);  // fade at both ends
      float &v = layer[size_t(y) * w + x];
      v = std::max(v, static_cast<float>(intensity * edge * taper));
    }
}

}  // namespace

void RainParams::validate() const {
  auto check = [](bool ok, const char *name, double v) {
    if (!ok) throw Error(std::string("rain: ") + name + " out of range: " + std::to_string(v));
  };
  check(density >= 0 && density <= 0.2, "density (0..0.2)", density);
  check(std::abs(angle) <= 80, "angle (-80..80)", angle);
  check(angle_jitter >= 0 && angle_jitter <= 45, "angle jitter (0..45)", angle_jitter);
  check(length >= 1 && length <= 400, "length (1..400)", length);
  check(width > 0 && width <= 10, "width (0..10)", width);
  check(blur >= 0 && blur <= 10, "blur (0..10)", blur);
  check(opacity >= 0 && opacity <= 1, "opacity (0..1)", opacity);
  check(haze >= 0 && haze <= 1, "haze (0..1)", haze);
  check(layers >= 1 && layers <= 4, "layers (1..4)", layers);
  check(drops >= 0 && drops <= 50, "drops (0..50)", drops);
  check(drop_radius >= 1 && drop_radius <= 100, "drop radius (1..100)", drop_radius);
}

RainParams sample_rain_params(std::mt19937_64 &rng) {
  // Thin, bright streaks from sparse to dense, one direction per image, short drizzle to the long
  // streaks of a slow shutter (Rain100L-like test sets have many over 60 px). No haze: a global
  // veil is indistinguishable from a brighter scene in a patch, and teaching the network to darken
  // whole patches costs far more than it helps.
  RainParams p;
  p.density = std::exp(uniform(rng, std::log(0.0008), std::log(0.008)));
  p.angle = uniform(rng, -30, 30);
  p.angle_jitter = uniform(rng, 0, 5);
  p.length = std::exp(uniform(rng, std::log(8.0), std::log(80.0)));
  p.width = uniform(rng, 0.6, 2.4);
  p.blur = uniform(rng, 0.2, 0.9);
  // Added over any background, these peaks give streak pixels a median of about 0.1 and a frame
  // mean of about 0.02, close to Rain100L's measured rain layer.
  p.opacity = uniform(rng, 0.2, 0.7);
  p.haze = 0.0;
  // Mostly the additive model of the test sets, some screen so that the network also meets rain
  // that fades over bright backgrounds.
  p.blend = uniform(rng) < 0.8 ? RainBlend::kAdd : RainBlend::kScreen;
  return p;
}

RainParams sample_heavy_rain_params(std::mt19937_64 &rng) {
  // Rain100H's rain: dense and bright streaks of several sizes, a veil over the scene.
  RainParams p = sample_rain_params(rng);
  p.layers = 2 + static_cast<int>(uniform(rng) * 2);  // 2..3
  p.density = std::exp(uniform(rng, std::log(0.002), std::log(0.006)));
  p.length = std::exp(uniform(rng, std::log(16.0), std::log(90.0)));
  p.width = uniform(rng, 1.0, 2.5);
  p.opacity = uniform(rng, 0.4, 0.8);
  p.haze = uniform(rng, 0.0, 0.2);
  p.drops = uniform(rng) < 0.3 ? uniform(rng, 0.5, 4.0) : 0.0;
  p.drop_radius = uniform(rng, 3.0, 12.0);
  p.blend = RainBlend::kAdd;
  return p;
}

RainParams sample_training_rain(std::mt19937_64 &rng, double heavy_fraction) {
  if (heavy_fraction > 0 && uniform(rng) < heavy_fraction) return sample_heavy_rain_params(rng);
  return sample_rain_params(rng);
}

namespace {

// One layer of streaks (layer k of the params' stack) drawn into `layer`.
void draw_streak_layer(std::vector<float> &layer, int width, int height, const RainParams &params,
                       int k, std::mt19937_64 &rng) {
  const double density = params.density * (1 + k), length = params.length / (1 + 0.6 * k);
  const double streak_width = std::max(0.5, params.width / (1 + 0.5 * k));
  const double opacity = params.opacity * std::pow(0.7, k);
  // Streak centres may fall a little outside the frame so that edges get partial streaks too.
  const double margin = length / 2;
  const double area = (width + 2 * margin) * (height + 2 * margin);
  const int streaks = static_cast<int>(density * area + uniform(rng));
  const double base = params.angle * M_PI / 180.0, jitter = params.angle_jitter * M_PI / 180.0;
  std::vector<float> own(layer.size(), 0.0f);
  for (int s = 0; s < streaks; ++s) {
    const double cx = uniform(rng, -margin, width + margin),
                 cy = uniform(rng, -margin, height + margin);
    const double len = length * uniform(rng, 0.5, 1.5);
    const double ang = base + jitter * normal(rng);
    const float intensity = static_cast<float>(opacity * uniform(rng, 0.6, 1.0));
    draw_streak(own, width, height, cx, cy, len, ang, streak_width, intensity);
  }
  const double blur = params.blur + 0.5 * k;
  if (blur > 0) blur_plane(own, width, height, blur);
  for (size_t i = 0; i < layer.size(); ++i) layer[i] = std::min(1.0f, layer[i] + own[i]);
}

// Drops on the lens: soft discs through which the scene is seen out of focus (a strong blur of
// the planes under them), a little brighter at the rim.
void add_lens_drops(float *planar, int width, int height, const RainParams &params,
                    std::mt19937_64 &rng) {
  const int drops = static_cast<int>(params.drops * width * height / 1e4 + uniform(rng));
  if (drops == 0) return;
  const size_t plane = size_t(width) * height;
  std::vector<float> mask(plane, 0.0f);
  for (int d = 0; d < drops; ++d) {
    const double cx = uniform(rng, 0, width), cy = uniform(rng, 0, height);
    const double r = params.drop_radius * uniform(rng, 0.5, 1.5);
    const int x0 = std::max(0, int(cx - r - 1)), x1 = std::min(width - 1, int(cx + r + 1));
    const int y0 = std::max(0, int(cy - r - 1)), y1 = std::min(height - 1, int(cy + r + 1));
    for (int y = y0; y <= y1; ++y)
      for (int x = x0; x <= x1; ++x) {
        const double dist = std::hypot(x + 0.5 - cx, y + 0.5 - cy);
        const float m = static_cast<float>(std::clamp(r + 0.5 - dist, 0.0, 1.0));
        float &v = mask[size_t(y) * width + x];
        v = std::max(v, m);
      }
  }
  const double sigma = std::max(1.5, params.drop_radius / 2);
  for (int c = 0; c < 3; ++c) {
    float *p = planar + c * plane;
    std::vector<float> seen(p, p + plane);
    blur_plane(seen, width, height, sigma);
    for (size_t i = 0; i < plane; ++i)
      if (mask[i] > 0)
        p[i] = std::min(1.0f, p[i] * (1 - mask[i]) + (seen[i] * 0.9f + 0.1f) * mask[i]);
  }
}

}  // namespace

void add_rain(float *planar, int width, int height, const RainParams &params, uint64_t seed) {
  params.validate();
  if (width <= 0 || height <= 0) return;
  std::mt19937_64 rng(seed);
  std::vector<float> layer(size_t(width) * height, 0.0f);
  for (int k = 0; k < params.layers; ++k) draw_streak_layer(layer, width, height, params, k, rng);
  const size_t plane = size_t(width) * height;
  constexpr float kAirlight = 0.85f;
  const float haze = static_cast<float>(params.haze);
  const bool screen = params.blend == RainBlend::kScreen;
  for (int c = 0; c < 3; ++c) {
    float *p = planar + c * plane;
    for (size_t i = 0; i < plane; ++i) {
      float v = p[i] * (1 - haze) + kAirlight * haze;
      v = screen ? 1.0f - (1.0f - v) * (1.0f - layer[i]) : v + layer[i];  // both only brighten
      p[i] = std::clamp(v, 0.0f, 1.0f);
    }
  }
  add_lens_drops(planar, width, height, params, rng);
}

}  // namespace sapnet
