// Whether a frame needs deraining, from its rain score: frames pass through once the score has
// stayed under the threshold for a run of frames (so that one calm frame in a shower does not
// flicker between derained and raw), and deraining resumes on the first frame over it.
// Torch-free.
#pragma once

namespace sapnet {

// The default dry threshold suits the bundled model: on the demo's street video its rain score is
// about 1.1 dry and 2.0 or more with light rain (`pipelines/rain-gate.sh`). Other models score on
// other scales; `sapnet rain-score` measures a camera's frames for its own threshold.
inline constexpr double kDefaultDryThreshold = 1.8;

struct RainGateSettings {
  double threshold = kDefaultDryThreshold;  // rain score under which a frame counts as dry
  int dry_frames = 10;                      // dry frames in a row before frames pass through
};

class RainGate {
 public:
  RainGate() = default;
  explicit RainGate(const RainGateSettings &settings) : settings_(settings) {}

  void set_settings(const RainGateSettings &settings) { settings_ = settings; }
  const RainGateSettings &settings() const { return settings_; }

  // The frame's score; returns true when the frame is to be derained.
  bool update(double score);
  // Forgets the run of dry frames (new stream, flush): the next frames are derained until the run
  // builds up again.
  void reset() { dry_run_ = 0; }
  bool passing_through() const { return dry_run_ >= settings_.dry_frames; }

 private:
  RainGateSettings settings_;
  int dry_run_ = 0;
};

}  // namespace sapnet
