// The files the perception elements write: the check that a file can be written before the
// stream starts, file-name patterns with the frame number, and 8-bit label PNGs.
#pragma once

#include <cstdint>
#include <string>

namespace sapnet::gst {

// Why `path` cannot be written ("" when it can): opens it for writing without truncating it, or,
// when it does not exist, creates it and removes it again. Nothing is left behind or changed.
std::string unwritable_reason(const std::string &path);

// Why `pattern` is not a file-name pattern ("" when it is). A pattern holds at most one printf
// integer conversion for the frame number (%d, %05d, %i, %u; width up to 99) and writes '%' as
// "%%"; any other '%' is refused, since the pattern goes to printf.
std::string location_pattern_error(const std::string &pattern);

// `pattern` with its conversion replaced by `index` (GLib's printf, as multifilesink does); a
// pattern without one is returned as it is. Throws sapnet::Error for an invalid pattern.
std::string format_location(const std::string &pattern, uint64_t index);

// Writes a single-channel 8-bit PNG (rows packed, width bytes each) with libpng. Throws
// sapnet::Error naming the file on failure.
void write_gray_png(const std::string &path, const uint8_t *pixels, int width, int height);

}  // namespace sapnet::gst
