// Reads the tensors of a file written by PyTorch's torch.save (zip format) without Python.
//
// LibTorch's own pickle_load cannot read state dicts saved from CUDA tensors inside an OrderedDict
// (it drops OrderedDicts and insists on the saved device), so this is a small pickle machine for
// the opcodes torch.save emits for a state dict. Tensors always land on the CPU.
#pragma once

#include <ATen/core/Tensor.h>

#include <cstddef>
#include <functional>
#include <string>
#include <tuple>
#include <utility>
#include <vector>

namespace sapnet {

using NamedTensors = std::vector<std::pair<std::string, at::Tensor>>;

// Throws sapnet::Error naming `path` and the problem (missing, not a zip, truncated, CRC failure,
// not a dict of tensors, unsupported pickle content, NaN or infinite values), and saying what the
// file is where it is another PyTorch format (TorchScript, legacy torch.save).
NamedTensors read_torch_state_dict(const std::string &path);

// True when the file is a zip archive holding a pickled object ("data.pkl").
bool is_torch_zip_file(const std::string &path);

// The state dict in a data.pkl record (`pickle`); `read_record(name)` returns the bytes of the
// archive's record "data/<key>" for a tensor storage. Throws sapnet::Error without a file name.
// read_torch_state_dict's core, public for tests and fuzzing.
using RecordReader = std::function<std::tuple<at::DataPtr, size_t>(const std::string &name)>;
NamedTensors unpickle_state_dict(const std::string &pickle, const RecordReader &read_record);

// Throws sapnet::Error (without the path) when the file starts like a PyTorch format other than
// the zip one: a legacy torch.save file (a pickle stream with PyTorch's magic number) or a plain
// Python pickle. Says how to convert it.
void check_not_legacy_torch_file(const std::string &path);

// Checks a PyTorch zip archive before LibTorch's reader opens it: not a legacy file, the zip checks
// of verify_zip_checksums, a format version this LibTorch reads. Throws sapnet::Error without the
// path.
void check_torch_archive(const std::string &path);

// Throws sapnet::Error (without a file name) naming the first floating-point tensor that holds NaN
// or infinite values.
void check_finite(const NamedTensors &tensors);

}  // namespace sapnet
