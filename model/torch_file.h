// Reads the tensors of a file written by PyTorch's torch.save (zip format) without Python.
//
// LibTorch's own pickle_load cannot read state dicts saved from CUDA tensors inside an OrderedDict
// (it drops OrderedDicts and insists on the saved device), so this is a small pickle machine for
// the opcodes torch.save emits for a state dict. Tensors always land on the CPU.
#pragma once

#include <ATen/core/Tensor.h>

#include <string>
#include <utility>
#include <vector>

namespace sapnet {

using NamedTensors = std::vector<std::pair<std::string, at::Tensor>>;

// Throws sapnet::Error naming `path` and the problem (missing, not a zip, truncated, CRC failure,
// not a dict of tensors, unsupported pickle content).
NamedTensors read_torch_state_dict(const std::string &path);

// True when the file is a zip archive holding a pickled object ("data.pkl").
bool is_torch_zip_file(const std::string &path);

}  // namespace sapnet
