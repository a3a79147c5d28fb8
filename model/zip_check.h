// Checks every record of a zip archive (PyTorch's files are uncompressed zips) against the CRC-32
// in its central directory. LibTorch's reader does not, so a damaged model would load silently.
#pragma once

#include <string>

namespace sapnet {

// Throws sapnet::Error (without the path; callers add it) naming the damaged record, or saying that
// the archive is truncated or not a zip.
void verify_zip_checksums(const std::string &path);

}  // namespace sapnet
