#include "zip_check.h"

#include <algorithm>
#include <cctype>
#include <cstdint>
#include <cstring>
#include <fstream>
#include <utility>
#include <vector>

#include <zlib.h>

#include "error.h"

namespace sapnet {
namespace {

uint64_t le(const uint8_t *p, int bytes) {
  uint64_t v = 0;
  for (int i = bytes; i-- > 0;) v = v << 8 | p[i];
  return v;
}
uint32_t le32(const uint8_t *p) {
  return static_cast<uint32_t>(le(p, 4));
}
uint16_t le16(const uint8_t *p) {
  return static_cast<uint16_t>(le(p, 2));
}

// Reads byte ranges of the archive, refusing any that lies (partly) outside it.
class File {
 public:
  explicit File(const std::string &path) : f_(path, std::ios::binary) {
    if (!f_) throw Error("cannot be opened for reading");
    f_.seekg(0, std::ios::end);
    size_ = static_cast<uint64_t>(f_.tellg());
  }
  uint64_t size() const { return size_; }
  std::vector<uint8_t> read(uint64_t offset, uint64_t n, const std::string &what) {
    if (offset > size_ || n > size_ - offset)
      throw Error(what + " lies beyond the end of the file (truncated?)");
    std::vector<uint8_t> out(n);
    f_.seekg(static_cast<std::streamoff>(offset));
    if (n > 0 && !f_.read(reinterpret_cast<char *>(out.data()), static_cast<std::streamsize>(n)))
      throw Error("read error in " + what);
    return out;
  }
  // CRC-32 of n bytes at offset, read in chunks.
  uint32_t crc(uint64_t offset, uint64_t n, const std::string &what) {
    if (offset > size_ || n > size_ - offset) throw Error(what + " is cut short (truncated file)");
    f_.seekg(static_cast<std::streamoff>(offset));
    std::vector<uint8_t> chunk(std::min<uint64_t>(n, 1 << 20));
    uLong c = crc32(0L, Z_NULL, 0);
    while (n > 0) {
      const size_t k = static_cast<size_t>(std::min<uint64_t>(n, chunk.size()));
      if (!f_.read(reinterpret_cast<char *>(chunk.data()), static_cast<std::streamsize>(k)))
        throw Error("read error in " + what);
      c = crc32(c, chunk.data(), static_cast<uInt>(k));  // k <= 1 MiB
      n -= k;
    }
    return static_cast<uint32_t>(c);
  }

 private:
  std::ifstream f_;
  uint64_t size_ = 0;
};

// Where the central directory is and how many entries it holds, from the end-of-central-directory
// record, or from its zip64 twin where a zip64 locator precedes it (as miniz, LibTorch's zip
// reader, reads them).
struct Directory {
  uint64_t offset = 0, size = 0, entries = 0;
};

Directory find_directory(File &file) {
  constexpr uint64_t kEocd = 22, kLocator = 20, kZip64Eocd = 56;
  if (file.size() < kEocd) throw Error("too short to be a zip archive (truncated?)");
  const uint64_t tail_size = std::min<uint64_t>(file.size(), kEocd + 65535 + kLocator);
  const uint64_t tail_start = file.size() - tail_size;
  const auto tail = file.read(tail_start, tail_size, "the end of the archive");
  uint64_t eocd = UINT64_MAX;  // within tail
  for (uint64_t i = tail_size - kEocd + 1; i-- > 0;)
    if (le32(&tail[i]) == 0x06054b50) {
      eocd = i;
      break;
    }
  if (eocd == UINT64_MAX) throw Error("no zip central directory (truncated or not a zip archive)");
  Directory dir{le32(&tail[eocd + 16]), le32(&tail[eocd + 12]), le16(&tail[eocd + 10])};
  if (eocd >= kLocator && le32(&tail[eocd - kLocator]) == 0x07064b50) {
    const uint64_t z64 = le(&tail[eocd - kLocator + 8], 8);
    const auto rec = file.read(z64, kZip64Eocd, "the zip64 end of central directory");
    if (le32(rec.data()) != 0x06064b50) throw Error("damaged zip64 end of central directory");
    dir = {le(&rec[48], 8), le(&rec[40], 8), le(&rec[32], 8)};
  }
  const uint64_t eocd_offset = tail_start + eocd;
  if (dir.offset > eocd_offset || dir.size > eocd_offset - dir.offset)
    throw Error("damaged zip central directory (it lies outside the archive)");
  // A central directory entry takes at least 46 bytes.
  if (dir.entries > dir.size / 46) throw Error("damaged zip central directory (entry count)");
  return dir;
}

// Replaces the 32-bit fields that read 0xFFFFFFFF by their values in the zip64 extra field.
void apply_zip64_extra(const uint8_t *extra, size_t len, uint64_t *uncompressed,
                       uint64_t *compressed, uint64_t *local, const std::string &name) {
  for (size_t p = 0; p + 4 <= len;) {
    const uint16_t id = le16(extra + p), size = le16(extra + p + 2);
    if (p + 4 + size > len) break;
    if (id == 0x0001) {
      size_t q = p + 4;
      for (uint64_t *field : {uncompressed, compressed, local}) {
        if (*field != 0xFFFFFFFFu) continue;
        if (q + 8 > p + 4 + size) throw Error("record " + name + ": damaged zip64 extra field");
        *field = le(extra + q, 8);
        q += 8;
      }
      return;
    }
    p += 4 + size;
  }
  if (*uncompressed == 0xFFFFFFFFu || *compressed == 0xFFFFFFFFu || *local == 0xFFFFFFFFu)
    throw Error("record " + name + ": zip64 sizes without a zip64 extra field");
}

// Record names as miniz compares them when LibTorch looks one up: ASCII case ignored.
bool same_name(const std::string &a, const std::string &b) {
  return a.size() == b.size() && std::equal(a.begin(), a.end(), b.begin(), [](char x, char y) {
           return std::tolower(static_cast<unsigned char>(x)) ==
                  std::tolower(static_cast<unsigned char>(y));
         });
}

}  // namespace

uint64_t verify_zip_checksums(const std::string &path) {
  File file(path);
  const Directory dir = find_directory(file);
  const auto central = file.read(dir.offset, dir.size, "the zip central directory");
  struct Record {
    std::string name;
    uint64_t local = 0, data = 0, size = 0;  // local header, data, stored size
    uint32_t crc = 0;
    bool stored = true;
  };
  std::vector<Record> records;
  size_t p = 0;
  for (uint64_t e = 0; e < dir.entries; ++e) {
    if (p + 46 > central.size() || le32(&central[p]) != 0x02014b50)
      throw Error("damaged zip central directory");
    Record r;
    const uint16_t flags = le16(&central[p + 8]), method = le16(&central[p + 10]);
    r.crc = le32(&central[p + 16]);
    uint64_t compressed = le32(&central[p + 20]), uncompressed = le32(&central[p + 24]);
    const size_t name_len = le16(&central[p + 28]), extra_len = le16(&central[p + 30]),
                 comment_len = le16(&central[p + 32]);
    r.local = le32(&central[p + 42]);
    if (p + 46 + name_len + extra_len + comment_len > central.size())
      throw Error("damaged zip central directory");
    r.name.assign(reinterpret_cast<const char *>(&central[p + 46]), name_len);
    apply_zip64_extra(&central[p + 46 + name_len], extra_len, &uncompressed, &compressed, &r.local,
                      r.name);
    p += 46 + name_len + extra_len + comment_len;

    const auto header = file.read(r.local, 30, "the local header of record " + r.name);
    if (le32(header.data()) != 0x04034b50)
      throw Error("record " + r.name + ": damaged local header");
    if (flags & 0x61)  // encrypted (bits 0, 6) or patch data (bit 5): miniz reads neither
      throw Error("record " + r.name + " is encrypted or a patch (PyTorch files are neither)");
    r.data = r.local + 30 + le16(&header[26]) + le16(&header[28]);
    r.size = compressed;
    if (r.data > file.size() || r.size > file.size() - r.data)
      throw Error("record " + r.name + " is cut short (truncated file)");
    if (method == 8) {
      // Deflate expands at most about 1032:1; a larger claim would only make readers allocate.
      if (uncompressed / 1032 > compressed + 1)
        throw Error("record " + r.name + ": implausible uncompressed size");
      r.stored = false;  // LibTorch's reader checks the CRC of compressed records itself
    } else if (method != 0) {
      throw Error("record " + r.name + " uses zip compression method " + std::to_string(method) +
                  " (PyTorch files store records uncompressed)");
    } else if (uncompressed != compressed) {
      throw Error("record " + r.name + ": stored record with two different sizes");
    }
    records.push_back(std::move(r));
  }
  // Records that share bytes are not something a zip writer produces, and would let a small file
  // claim many times its size (and take quadratic time to check).
  std::vector<std::pair<uint64_t, uint64_t>> spans;
  for (const Record &r : records) spans.emplace_back(r.local, r.data + r.size);
  std::sort(spans.begin(), spans.end());
  for (size_t i = 1; i < spans.size(); ++i)
    if (spans[i].first < spans[i - 1].second) throw Error("damaged zip archive (records overlap)");
  for (const Record &r : records)
    if (r.stored && file.crc(r.data, r.size, "record " + r.name) != r.crc)
      throw Error("record " + r.name + " fails its CRC-32 check (the file is damaged)");

  // The layout LibTorch's reader expects (it throws from its constructor otherwise, and leaks
  // its zip state then): records in one folder, named by the first, with a version record.
  if (records.empty()) throw Error("an empty zip archive");
  const size_t slash = records.front().name.find('/');
  if (slash == std::string::npos)
    throw Error("a zip archive, but not a PyTorch file (its records are not in a folder)");
  const std::string folder = records.front().name.substr(0, slash + 1);
  const Record *version = nullptr;
  for (const std::string name : {".data/version", "version"})
    for (const Record &r : records)
      if (!version && same_name(r.name, folder + name)) version = &r;
  if (!version) throw Error("a zip archive, but not a PyTorch file (no " + folder + "version)");
  if (!version->stored) throw Error("damaged PyTorch archive (a compressed version record)");
  const auto text = file.read(version->data, std::min<uint64_t>(version->size, 32), "version");
  size_t i = 0;
  while (i < text.size() && std::isspace(text[i])) ++i;
  uint64_t number = 0;
  size_t digits = 0;
  for (; i < text.size() && std::isdigit(text[i]) && digits < 18; ++i, ++digits)
    number = number * 10 + (text[i] - '0');
  if (digits == 0 || (i < text.size() && std::isdigit(text[i])))
    throw Error("damaged PyTorch archive (its version record holds no version number)");
  return number;
}

}  // namespace sapnet
