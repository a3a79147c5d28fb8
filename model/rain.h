// The rain synthesizer shared by training (pairs from clean images) and the rainsim element:
// anti-aliased streaks of random position and length around a mean angle, softened by a small blur,
// added to (or screen-blended over) the image; for heavy rain, further streak layers at greater
// depths (denser, shorter, thinner, dimmer, softer), the veiling haze of dense rain, and drops on
// the lens (discs through which the scene is seen blurred). Deterministic for a seed; torch-free.
#pragma once

#include <cstdint>
#include <random>

namespace sapnet {

// How the rain layer R joins the image B. Additive (O = min(B + R, 1)) is the rain model of the
// standard synthetic test sets (Rain100L/H: their rain adds the same light over dark and bright
// backgrounds); screen (O = B + R (1 - B)) adds less over bright backgrounds, like a semi-opaque
// drop in front of them.
enum class RainBlend { kAdd, kScreen };

struct RainParams {
  double density = 0.004;     // streaks per pixel of image area (0.004: ~40 per 100x100)
  double angle = 0.0;         // mean streak angle in degrees from vertical (positive leans right)
  double angle_jitter = 4.0;  // per-streak spread of the angle, degrees
  double length = 18.0;       // mean streak length in pixels
  double width = 1.0;         // streak width in pixels
  double blur = 0.6;          // Gaussian blur sigma of the rain layer in pixels (0 = none)
  double opacity = 0.6;       // peak brightness a streak adds (0..1)
  double haze = 0.0;          // veil towards a bright airlight (0..1)
  // Streak layers (1..4). Layer k (0 = nearest) behind the first has (1 + k) x the density,
  // 1 / (1 + 0.6 k) of the length, 1 / (1 + 0.5 k) of the width, 0.7^k of the opacity and
  // 0.5 k px more blur: rain further away.
  int layers = 1;
  double drops = 0.0;        // lens drops per 10,000 pixels (0..50)
  double drop_radius = 8.0;  // mean drop radius in pixels (1..100; each drop 0.5x to 1.5x)
  RainBlend blend = RainBlend::kAdd;

  // Throws sapnet::Error when a value is out of range.
  void validate() const;
};

// Random parameters spanning sparse to dense streaks (no haze; mostly additive), for training.
RainParams sample_rain_params(std::mt19937_64 &rng);
// Random heavy rain (Rain100H-like): 2 or 3 layers of dense, bright streaks, haze, some lens
// drops.
RainParams sample_heavy_rain_params(std::mt19937_64 &rng);
// Heavy rain with probability `heavy_fraction`, else light: what training synthesizes per patch.
// With a fraction of 0 no extra number is drawn (older runs repeat exactly).
RainParams sample_training_rain(std::mt19937_64 &rng, double heavy_fraction);

// Adds rain to planar RGB floats in [0, 1] (3 x height x width), in place. The same (params, seed,
// size) always gives the same rain.
void add_rain(float *planar, int width, int height, const RainParams &params, uint64_t seed);

}  // namespace sapnet
