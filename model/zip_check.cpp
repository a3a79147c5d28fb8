#include "zip_check.h"

#include <array>
#include <cstdint>
#include <cstring>
#include <fstream>
#include <vector>

#include "error.h"

namespace sapnet {
namespace {

uint32_t crc32(const uint8_t *data, size_t n) {
  static const auto table = [] {
    std::array<uint32_t, 256> t{};
    for (uint32_t i = 0; i < 256; ++i) {
      uint32_t c = i;
      for (int k = 0; k < 8; ++k) c = (c & 1) ? 0xEDB88320u ^ (c >> 1) : c >> 1;
      t[i] = c;
    }
    return t;
  }();
  uint32_t c = 0xFFFFFFFFu;
  for (size_t i = 0; i < n; ++i) c = table[(c ^ data[i]) & 0xFF] ^ (c >> 8);
  return c ^ 0xFFFFFFFFu;
}

uint32_t le32(const uint8_t *p) {
  return p[0] | p[1] << 8 | p[2] << 16 | uint32_t(p[3]) << 24;
}
uint16_t le16(const uint8_t *p) {
  return static_cast<uint16_t>(p[0] | p[1] << 8);
}

}  // namespace

void verify_zip_checksums(const std::string &path) {
  std::ifstream f(path, std::ios::binary);
  if (!f) throw Error("cannot be opened for reading");
  std::vector<uint8_t> bytes((std::istreambuf_iterator<char>(f)), std::istreambuf_iterator<char>());
  // The end-of-central-directory record sits in the last 22 + 65535 bytes.
  constexpr size_t kEocd = 22;
  if (bytes.size() < kEocd) throw Error("too short to be a zip archive (truncated?)");
  size_t eocd = std::string::npos;
  for (size_t i = bytes.size() - kEocd + 1; i-- > 0 && bytes.size() - i <= kEocd + 65535;)
    if (le32(&bytes[i]) == 0x06054b50) {
      eocd = i;
      break;
    }
  if (eocd == std::string::npos)
    throw Error("no zip central directory (truncated or not a zip archive)");
  const uint32_t entries = le16(&bytes[eocd + 10]);
  const uint64_t dir_offset = le32(&bytes[eocd + 16]);
  if (dir_offset == 0xFFFFFFFFu || entries == 0xFFFF)
    return;  // zip64: larger than our models; skip
  size_t p = dir_offset;
  for (uint32_t e = 0; e < entries; ++e) {
    if (p + 46 > bytes.size() || le32(&bytes[p]) != 0x02014b50)
      throw Error("damaged zip central directory");
    const uint16_t method = le16(&bytes[p + 10]);
    const uint32_t crc = le32(&bytes[p + 16]), size = le32(&bytes[p + 20]);
    const uint16_t name_len = le16(&bytes[p + 28]), extra_len = le16(&bytes[p + 30]),
                   comment_len = le16(&bytes[p + 32]);
    const uint32_t local = le32(&bytes[p + 42]);
    if (p + 46 + name_len > bytes.size()) throw Error("damaged zip central directory");
    const std::string name(reinterpret_cast<const char *>(&bytes[p + 46]), name_len);
    p += 46 + name_len + extra_len + comment_len;
    if (method != 0 || size == 0xFFFFFFFFu || local == 0xFFFFFFFFu)
      continue;  // only stored records
    if (local + 30 > bytes.size() || le32(&bytes[local]) != 0x04034b50)
      throw Error("record " + name + ": damaged local header");
    const size_t data = local + 30 + le16(&bytes[local + 26]) + le16(&bytes[local + 28]);
    if (data + size > bytes.size())
      throw Error("record " + name + " is cut short (truncated file)");
    if (crc32(&bytes[data], size) != crc)
      throw Error("record " + name + " fails its CRC-32 check (the file is damaged)");
  }
}

}  // namespace sapnet
