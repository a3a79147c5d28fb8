// sapnet export: a TorchScript module of a model (weights baked in), loadable with torch.jit.load
// in Python or torch::jit::load in C++. Input N x 3 x H x W in [0, 1], output the derained image.
#pragma once

#include <string>

namespace sapnet {

// Throws sapnet::Error naming the file on failure.
void export_torchscript(const std::string &model_path, const std::string &out_path, int stages = 0);

}  // namespace sapnet
