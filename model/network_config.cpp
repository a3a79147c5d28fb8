#include "network_config.h"

#include "error.h"

namespace sapnet {

std::string NetworkConfig::describe() const {
  bool all_one = true;
  std::string dil;
  for (size_t i = 0; i < dilations.size(); ++i) {
    dil += (i ? "," : "") + std::to_string(dilations[i]);
    all_one = all_one && dilations[i] == 1;
  }
  std::string family = (cra || !all_one) ? "SAPNet" : "PReNet";
  return family + " (" + std::to_string(stages) + " stages, " + std::to_string(channels) +
         " channels, dilations " + dil + (cra ? ", CRA)" : ", no CRA)");
}

void NetworkConfig::validate() const {
  if (stages < 1 || stages > kMaxStages)
    throw Error("network: stages must be 1.." + std::to_string(kMaxStages) + ", got " +
                std::to_string(stages));
  if (channels < 2 || channels > 256)
    throw Error("network: channels must be 2..256, got " + std::to_string(channels));
  if (dilations.empty()) throw Error("network: at least one dilated unit is needed");
  for (int d : dilations)
    if (d < 1 || d > 64) throw Error("network: dilation must be 1..64, got " + std::to_string(d));
  if (cra && (cra_reduction < 1 || channels / cra_reduction < 1))
    throw Error("network: CRA reduction " + std::to_string(cra_reduction) + " does not fit " +
                std::to_string(channels) + " channels");
}

}  // namespace sapnet
