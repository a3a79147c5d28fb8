// Helpers shared by the libFuzzer targets: readers that take a path get the input as a file.
#pragma once

#include <unistd.h>

#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <string>

namespace sapnet::fuzz {

// Writes the input to a file of this process (one per target and process, reused) and returns
// its path.
inline const std::string &input_file(const uint8_t *data, size_t size, const char *suffix) {
  static const std::string path = (std::filesystem::temp_directory_path() /
                                   ("sapnet-fuzz-" + std::to_string(getpid()) + suffix))
                                      .string();
  std::FILE *f = std::fopen(path.c_str(), "wb");
  if (!f) std::abort();
  if (size > 0 && std::fwrite(data, 1, size, f) != size) std::abort();
  std::fclose(f);
  return path;
}

}  // namespace sapnet::fuzz
