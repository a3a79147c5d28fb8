// libFuzzer target: a whole model file as the Engine, `sapnet info` and `sapnet import` read it
// (zip archive checks, .sapnet checkpoints, torch.save state dicts, architecture inference).
#include <cstdint>

#include "error.h"
#include "fuzz_common.h"
#include "model_file.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  const std::string &path = sapnet::fuzz::input_file(data, size, ".model");
  try {
    sapnet::load_model_file(path);
  } catch (const sapnet::Error &) {  // the only exception load_model_file may throw
  }
  return 0;
}
