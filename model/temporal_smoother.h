// Steadies a derained video: each output pixel moves toward the new frame by a weight that is
// small where the frame barely differs from the previous output (flicker and leftover rain on a
// still background, which then average out over a few frames) and 1 where it differs clearly
// (motion: never a ghost of the previous frame). The history follows a panning or shaking camera
// (one translation per frame), and a frame where much of the picture still moves after that (a
// zoom, a cut) is taken as it is. Works on the bytes of any
// FrameView layout; alpha and padding bytes are left alone. Torch-free.
#pragma once

#include <vector>

#include "frame.h"
#include "global_motion.h"

namespace sapnet {

struct TemporalSmoothing {
  // How much of the previous output a still pixel keeps (0: off, below 1).
  float strength = 0.6f;
  // A pixel whose largest channel difference (in 8-bit levels) is at most `still` counts as
  // still; from `moving` up it takes the new frame as it is; linear in between.
  float still = 10.0f;
  float moving = 40.0f;
  // When more than this share of the pixels moves (a moving camera, a cut), the frame is taken as
  // it is and the blend starts anew from it: without motion compensation, blending then would
  // smear textured areas.
  float camera_motion = 0.25f;
  // The history is first moved with the camera: the whole-frame translation (up to this many
  // pixels each way; 0 = none) that best maps the previous output onto the new frame.
  int max_shift = 64;

  // Throws sapnet::Error for values out of range.
  void validate() const;
};

class TemporalSmoother {
 public:
  explicit TemporalSmoother(TemporalSmoothing settings = {});

  // Blends `frame` (the newly derained frame) in place with what came before. The first frame,
  // and any frame after reset() or of another size or layout, passes unchanged and starts anew.
  void apply(const FrameView &frame);
  // Forgets the previous frames (stream discontinuity, seek, new caps).
  void reset();
  const TemporalSmoothing &settings() const { return settings_; }

 private:
  // Blends one group of `channels` interleaved samples per pixel over a plane of w x h.
  void blend_plane(uint8_t *data, int stride, int w, int h, int step, int channels, float *state);
  // Moves the history of one plane by (dx, dy); pixels with no history take the frame's.
  void shift_plane(float *state, int w, int h, int channels, int dx, int dy, const uint8_t *data,
                   int stride, int step);
  // Grey levels of a frame (luma plane, or (c0 + 2 c1 + c2) / 4 of packed colour) into `out`,
  // reusing its buffer.
  static void luma_of(const FrameView &frame, LumaImage &out);
  // Share of the pixels of a plane whose change reaches the `moving` threshold.
  float moving_share(const uint8_t *data, int stride, int w, int h, int step, int channels,
                     const float *state) const;
  TemporalSmoothing settings_;
  PixelFormat format_ = PixelFormat::kRGB;
  int width_ = 0, height_ = 0;
  std::vector<float> state_;  // the previous output, per blended sample, unrounded
  // The camera's motion: the previous output's and this frame's grey levels, and scratch space,
  // all kept from frame to frame (no allocation per frame once the size is known).
  LumaImage luma_, current_luma_;
  TranslationEstimator motion_;
  std::vector<float> shifted_;
};

}  // namespace sapnet
