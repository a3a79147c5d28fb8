// A small packed patch file both trainer suites train on: two generated 48x40 images, synthesized
// rain, 16 px patches every 8 px (fast, deterministic, no ../shared needed).
#pragma once

#include <filesystem>
#include <vector>

#include "data/image.h"
#include "data/patch_source.h"

namespace sapnet::testing {

inline void write_synthetic_pack(const std::filesystem::path &file) {
  std::vector<RgbImage> images;
  for (int k = 0; k < 2; ++k) {
    RgbImage img(48, 40);
    for (size_t i = 0; i < img.pixels.size(); ++i)
      img.pixels[i] = static_cast<uint8_t>((i * (5 + k)) % 253);
    images.push_back(img);
  }
  SourceOptions so;
  so.patch = 16;
  so.stride = 8;
  write_pack(file.string(), *make_synthetic_source(images, so, "test"), true);
}

}  // namespace sapnet::testing
