// libFuzzer target: the state-dict unpickler (a .pth file's data.pkl), with a few tensor storages
// ("data/0" .. "data/3") to refer to.
#include <c10/core/CPUAllocator.h>
#include <c10/util/Exception.h>

#include <cstdint>
#include <cstring>
#include <string>

#include "error.h"
#include "torch_file.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  const std::string pickle(reinterpret_cast<const char *>(data), size);
  const auto read_record = [](const std::string &name) -> std::tuple<at::DataPtr, size_t> {
    // data/0: 16 floats, data/1: one, data/2: none, data/3: 6 bytes (fits no dtype but bytes).
    static const size_t sizes[] = {64, 4, 0, 6};
    for (int k = 0; k < 4; ++k)
      if (name == "data/" + std::to_string(k)) {
        at::DataPtr ptr = c10::GetCPUAllocator()->allocate(sizes[k]);
        if (sizes[k] > 0) std::memset(ptr.get(), 0x3f, sizes[k]);  // 0x3f3f3f3f: 0.75f
        return {std::move(ptr), sizes[k]};
      }
    throw sapnet::Error("no record " + name);
  };
  try {
    sapnet::check_finite(sapnet::unpickle_state_dict(pickle, read_record));
  } catch (const sapnet::Error &) {
  } catch (const c10::Error &) {  // read_torch_state_dict turns these into sapnet::Error
  }
  return 0;
}
