#include "data/jpeg_markers.h"

namespace sapnet {
namespace {

constexpr uint8_t kMarker = 0xFF, kStartOfImage = 0xD8, kEndOfImage = 0xD9, kStartOfScan = 0xDA;

bool is_restart(uint8_t code) {
  return code >= 0xD0 && code <= 0xD7;
}

// Markers without a length field (ITU T.81, B.1.1.3: TEM, RSTn, SOI, EOI).
bool stands_alone(uint8_t code) {
  return code == 0x01 || is_restart(code) || code == kStartOfImage || code == kEndOfImage;
}

// From the first byte after a scan header to the next marker that ends the scan: inside, 0xFF is
// followed by a stuffed zero, a restart marker or fill bytes. Returns the marker's offset, or
// `size` when the data runs out first.
size_t end_of_entropy_data(const uint8_t *bytes, size_t size, size_t at) {
  while (at + 1 < size) {
    if (bytes[at] != kMarker) {
      ++at;
      continue;
    }
    const uint8_t next = bytes[at + 1];
    if (next == kMarker)
      at += 1;
    else if (next == 0x00 || is_restart(next))
      at += 2;
    else
      return at;
  }
  return size;
}

}  // namespace

bool looks_like_jpeg(const uint8_t *bytes, size_t size) {
  return size >= 2 && bytes[0] == kMarker && bytes[1] == kStartOfImage;
}

bool jpeg_reaches_end_marker(const uint8_t *bytes, size_t size) {
  if (!looks_like_jpeg(bytes, size)) return false;
  size_t at = 2;
  while (at < size) {
    // libjpeg skips stray bytes before a marker (with a warning); so does this walk.
    while (at < size && bytes[at] != kMarker) ++at;
    while (at < size && bytes[at] == kMarker) ++at;  // fill bytes
    if (at >= size) return false;
    const uint8_t code = bytes[at++];
    if (code == kEndOfImage) return true;
    if (stands_alone(code)) continue;
    if (at + 2 > size) return false;
    const size_t length = size_t(bytes[at]) << 8 | bytes[at + 1];
    if (length < 2 || at + length > size) return false;
    at += length;
    if (code == kStartOfScan) at = end_of_entropy_data(bytes, size, at);
  }
  return false;
}

}  // namespace sapnet
