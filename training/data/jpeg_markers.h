// What a JPEG file's marker structure says about it, without decoding it.
#pragma once

#include <cstddef>
#include <cstdint>

namespace sapnet {

// True when the JPEG in `bytes` (starting with its start-of-image marker) reaches its end-of-image
// marker, walking the segments and the entropy-coded scans. libjpeg decodes a file cut short into
// an image with a grey remainder and only a warning; this tells the two apart. Bytes after the end
// marker (phone makers' metadata trailers, a motion photo's video) are not part of the image and
// do not matter, nor do thumbnails inside EXIF segments (skipped by their length).
bool jpeg_reaches_end_marker(const uint8_t *bytes, size_t size);

// True when `bytes` starts with a JPEG start-of-image marker.
bool looks_like_jpeg(const uint8_t *bytes, size_t size);

}  // namespace sapnet
