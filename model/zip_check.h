// Checks a zip archive (PyTorch's files are uncompressed zips) before LibTorch's reader sees it:
// every record lies inside the file, records do not overlap, sizes are plausible, and stored
// records match the CRC-32 in the central directory. LibTorch's reader checks none of this, so a
// damaged model would load silently, and a forged size would make it allocate without bound.
#pragma once

#include <cstdint>
#include <string>

namespace sapnet {

// Throws sapnet::Error (without the path; callers add it) naming the damaged record, or saying that
// the archive is truncated, not a zip or not laid out as PyTorch's archives are (records in one
// folder, a version record). Reads the file in chunks (memory use stays small). Returns the
// archive's format version (the number in its version record) for the caller to check against
// what its LibTorch reads.
uint64_t verify_zip_checksums(const std::string &path);

}  // namespace sapnet
