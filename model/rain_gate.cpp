#include "rain_gate.h"

namespace sapnet {

bool RainGate::update(double score) {
  if (score >= settings_.threshold) {
    dry_run_ = 0;
    return true;
  }
  if (dry_run_ < settings_.dry_frames) ++dry_run_;
  return dry_run_ < settings_.dry_frames;
}

}  // namespace sapnet
