// The rain synthesizer shared by training (pairs from clean images) and the rainsim element:
// anti-aliased streaks of random position and length around a mean angle, softened by a small blur,
// added to (or screen-blended over) the image, with optional haze. Deterministic for a seed;
// torch-free.
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
  RainBlend blend = RainBlend::kAdd;

  // Throws sapnet::Error when a value is out of range.
  void validate() const;
};

// Random parameters spanning sparse to dense streaks (no haze; mostly additive), for training.
RainParams sample_rain_params(std::mt19937_64 &rng);

// Adds rain to planar RGB floats in [0, 1] (3 x height x width), in place. The same (params, seed,
// size) always gives the same rain.
void add_rain(float *planar, int width, int height, const RainParams &params, uint64_t seed);

}  // namespace sapnet
