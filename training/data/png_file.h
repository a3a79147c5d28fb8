// 8-bit RGB PNG files through libpng's simplified API: what reads and writes images in builds
// without OpenCV (the GPU machine has no OpenCV, and `sapnet eval` must still read Rain100L there).
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "data/image.h"

namespace sapnet {

// True when this build has libpng.
bool png_io_available();
// Any PNG (grey, palette, 16-bit, alpha) as 8-bit RGB; throws sapnet::Error naming the file.
RgbImage read_png(const std::string &path);
// Throws sapnet::Error naming the file.
void write_png(const std::string &path, const RgbImage &image);
// An 8-bit grey PNG's bytes, unchanged (class ids of a label map); throws sapnet::Error naming the
// file. The caller checks the header first: other PNGs would be converted, not refused.
std::vector<uint8_t> read_png_grey(const std::string &path, int *width, int *height);

}  // namespace sapnet
