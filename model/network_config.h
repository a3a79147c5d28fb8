// Architecture of the SAPNet family, torch-free so that tools and the GStreamer element can
// describe a model without including LibTorch.
#pragma once

#include <string>
#include <vector>

#include "export.h"

namespace sapnet {

// The most recurrent stages a model may have (what validate() accepts).
constexpr int kMaxStages = 16;

struct SAPNET_API NetworkConfig {
  int stages = 6;                              // recurrent stages sharing weights
  int channels = 32;                           // feature width
  std::vector<int> dilations{1, 2, 4, 8, 16};  // one progressive dilated unit per entry
  bool cra = true;                             // channel residual attention after each unit conv
  int cra_reduction = 16;                      // squeeze ratio of the CRA bottleneck (32 -> 2)

  // SAPNet as released by the authors.
  static NetworkConfig sapnet() { return NetworkConfig{}; }
  // PReNet (Ren et al. 2019): the same recurrence, no dilation, no attention.
  static NetworkConfig prenet() {
    NetworkConfig c;
    c.dilations = {1, 1, 1, 1, 1};
    c.cra = false;
    return c;
  }
  // A short human-readable description, e.g. "SAPNet (6 stages, dilations 1,2,4,8,16, CRA)".
  std::string describe() const;
  // Throws sapnet::Error when a field is out of range.
  void validate() const;
  bool operator==(const NetworkConfig &o) const {
    return stages == o.stages && channels == o.channels && dilations == o.dilations &&
           cra == o.cra && cra_reduction == o.cra_reduction;
  }
};

}  // namespace sapnet
