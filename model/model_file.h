// Model files: the project's checkpoint format (weights + metadata in one zip) and the released
// PyTorch state dicts (SAPNet, PReNet), recognised by their contents.
#pragma once

#include <ATen/core/Tensor.h>

#include <map>
#include <nlohmann/json.hpp>
#include <string>

#include "network_config.h"
#include "torch_file.h"

namespace sapnet {

struct ModelFile {
  NetworkConfig network;
  NamedTensors weights;  // keys as SAPNetImpl::named_parameters() names them
  // Free-form provenance: {"source": ..., "training": {...}, "metrics": {...}}.
  nlohmann::json metadata = nlohmann::json::object();
  // Further tensor groups a checkpoint carries, e.g. "optimizer" for resuming training.
  std::map<std::string, NamedTensors> extra;
  std::string format;  // what the file was recognised as, for messages
};

// Reads any supported model file. Throws sapnet::Error naming the file and what is wrong.
ModelFile load_model_file(const std::string &path);

// Writes the project's checkpoint format atomically (a temporary file renamed over `path`).
void save_checkpoint(const std::string &path, const ModelFile &model);

// Adds `scores` to the card of the checkpoint at `path` (metadata "evaluations"[key]) if the file
// still holds `scored_weights`, the weights that were scored. A file replaced meanwhile (a training
// run saving into it) is left as it is, and an Error says so.
void record_evaluation(const std::string &path, const NamedTensors &scored_weights,
                       const std::string &key, const nlohmann::json &scores);

// Guesses the architecture of a released state dict from its keys ("module." already stripped).
NetworkConfig infer_network(const NamedTensors &weights);

nlohmann::json network_to_json(const NetworkConfig &config);
NetworkConfig network_from_json(const nlohmann::json &j);

}  // namespace sapnet
