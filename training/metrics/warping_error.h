// Temporal stability as Lai et al. (ECCV 2018, "Learning Blind Video Temporal Consistency")
// measure it: frame t+1 warped back onto frame t along the optical flow between them, the squared
// RGB difference (values in [0, 1], summed over the channels) averaged over the pixels seen in both
// frames. The flow comes from a motion source (the clean video when there is one, so that every
// version of the clip is judged against the same motion); pixels whose forward and backward flows
// disagree (occlusions, the image border) are left out (Ruder et al. 2016's consistency test).
// Lower is steadier: flicker and rain that moves unlike the scene both raise it.
#pragma once

#include <memory>

#include "data/image.h"

namespace sapnet {

// The flow from one frame of the motion source to the next, and where it can be trusted.
class FrameMotion {
 public:
  // DIS optical flow (OpenCV) both ways on the grey images. Throws sapnet::Error when the frames
  // differ in size or this build has no OpenCV.
  FrameMotion(const RgbImage &from, const RgbImage &to);
  ~FrameMotion();
  FrameMotion(FrameMotion &&) noexcept;
  FrameMotion &operator=(FrameMotion &&) noexcept;

  // E_warp of a pair of frames of any version of the clip at the motion's size.
  double warping_error(const RgbImage &from, const RgbImage &to) const;
  // Share of the pixels the error averages over (0..1).
  double visible_fraction() const;

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace sapnet
