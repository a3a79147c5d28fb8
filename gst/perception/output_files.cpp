#include "perception_common.h"

#include <fcntl.h>
#include <unistd.h>
#include <zlib.h>

#include <algorithm>
#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <memory>
#include <nlohmann/json.hpp>
#include <sstream>

#include "error.h"

namespace sapnet::gst {

bool parse_rgb_triplet(const std::string &text, std::array<float, 3> *out) {
  std::array<float, 3> v{};
  const char *p = text.c_str();
  for (int i = 0; i < 3; ++i) {
    while (*p == ' ' || (i > 0 && *p == ',')) ++p;
    char *end = nullptr;
    v[i] = std::strtof(p, &end);
    if (end == p) return false;
    p = end;
  }
  while (*p == ' ') ++p;
  if (*p) return false;
  *out = v;
  return true;
}

std::string rgb_triplet_string(const std::array<float, 3> &v) {
  char buf[96];
  std::snprintf(buf, sizeof buf, "%g,%g,%g", v[0], v[1], v[2]);
  return buf;
}

std::vector<std::string> read_class_names(const std::string &path) {
  std::ifstream in(path);
  if (!in) throw Error(path + ": cannot open the class-name file (" + std::strerror(errno) + ")");
  std::vector<std::string> names;
  for (std::string line; std::getline(in, line);) {
    while (!line.empty() && (line.back() == '\r' || line.back() == ' ')) line.pop_back();
    names.push_back(line);
  }
  while (!names.empty() && names.back().empty()) names.pop_back();
  return names;
}

std::string class_name(const std::vector<std::string> &names, int id) {
  if (id >= 0 && size_t(id) < names.size() && !names[id].empty()) return names[id];
  return "class-" + std::to_string(id);
}

CategoryMap read_category_map(const std::string &path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) throw Error(path + ": cannot open the category map (" + std::strerror(errno) + ")");
  std::ostringstream text;
  text << in.rdbuf();
  const std::string s = text.str();
  CategoryMap map;
  const size_t first = s.find_first_not_of(" \t\r\n");
  if (first != std::string::npos && s[first] == '{') {
    nlohmann::json j;
    try {
      j = nlohmann::json::parse(s);
    } catch (const std::exception &e) {
      throw Error(path + ": not valid JSON (" + e.what() + ")");
    }
    const auto it = j.find("categories");
    if (it == j.end() || !it->is_array() || it->empty())
      throw Error(path + ": no 'categories' list (expected a COCO annotation file)");
    std::vector<std::pair<int64_t, std::string>> cats;
    for (size_t k = 0; k < it->size(); ++k) {
      const auto &c = (*it)[k];
      if (!c.is_object() || !c.contains("id") || !c["id"].is_number_integer())
        throw Error(path + ": categories[" + std::to_string(k) + "] has no integer 'id'");
      const auto name = c.find("name");
      cats.emplace_back(c["id"].get<int64_t>(),
                        name != c.end() && name->is_string() ? name->get<std::string>() : "");
    }
    std::stable_sort(cats.begin(), cats.end(),
                     [](const auto &a, const auto &b) { return a.first < b.first; });
    for (size_t k = 1; k < cats.size(); ++k)
      if (cats[k].first == cats[k - 1].first)
        throw Error(path + ": category id " + std::to_string(cats[k].first) + " appears twice");
    for (const auto &c : cats) {
      map.ids.push_back(c.first);
      map.names.push_back(c.second);
    }
    return map;
  }
  std::istringstream lines(s);
  int line_no = 0;
  for (std::string line; std::getline(lines, line);) {
    ++line_no;
    while (!line.empty() && (line.back() == '\r' || line.back() == ' ')) line.pop_back();
    if (line.empty() && lines.peek() == EOF) break;
    char *end = nullptr;
    errno = 0;
    const long long id = std::strtoll(line.c_str(), &end, 10);
    if (line.empty() || end == line.c_str() || *end || errno == ERANGE)
      throw Error(path + ": line " + std::to_string(line_no) + " \"" + line +
                  "\" is not a category id (one integer per line, or a COCO annotation file)");
    map.ids.push_back(id);
    map.names.emplace_back();
  }
  if (map.ids.empty()) throw Error(path + ": no category ids");
  return map;
}

std::vector<int64_t> parse_id_list(const std::string &text) {
  std::vector<int64_t> ids;
  const char *p = text.c_str();
  for (;;) {
    while (*p == ' ' || *p == ',' || *p == '\t' || *p == '\n') ++p;
    if (!*p) break;
    char *end = nullptr;
    errno = 0;
    const long long v = std::strtoll(p, &end, 10);
    if (end == p || errno == ERANGE ||
        (*end && *end != ' ' && *end != ',' && *end != '\t' && *end != '\n'))
      throw Error("\"" + text.substr(0, 40) + (text.size() > 40 ? "..." : "") +
                  "\" is not a list of integer ids (\"139,285,632\")");
    ids.push_back(v);
    p = end;
  }
  return ids;
}

std::string format_location(const std::string &pattern, uint64_t index) {
  std::string out;
  bool done = false;
  for (size_t i = 0; i < pattern.size(); ++i) {
    if (pattern[i] != '%') {
      out += pattern[i];
      continue;
    }
    if (i + 1 < pattern.size() && pattern[i + 1] == '%') {
      out += '%';
      ++i;
      continue;
    }
    size_t j = i + 1;
    const bool zero = j < pattern.size() && pattern[j] == '0';
    int width = 0;
    while (j < pattern.size() && pattern[j] >= '0' && pattern[j] <= '9')
      width = width * 10 + (pattern[j++] - '0');
    while (j < pattern.size() && (pattern[j] == 'l' || pattern[j] == 'h')) ++j;
    if (done || j >= pattern.size() ||
        (pattern[j] != 'd' && pattern[j] != 'u' && pattern[j] != 'i')) {
      out += pattern[i];  // not an integer conversion: keep it literally
      continue;
    }
    std::string digits = std::to_string(index);
    if (int(digits.size()) < width) digits.insert(0, width - digits.size(), zero ? '0' : ' ');
    out += digits;
    done = true;
    i = j;
  }
  return out;
}

std::string unwritable_reason(const std::string &path) {
  if (path.empty()) return "no file name";
  int fd = ::open(path.c_str(), O_WRONLY | O_CLOEXEC);
  if (fd >= 0) {
    ::close(fd);
    return "";
  }
  if (errno != ENOENT) return std::strerror(errno);
  fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0644);
  if (fd < 0) return std::strerror(errno);
  ::close(fd);
  ::unlink(path.c_str());
  return "";
}

namespace {

void put32(std::string *s, uint32_t v) {
  for (int k = 3; k >= 0; --k) s->push_back(static_cast<char>((v >> (8 * k)) & 0xff));
}

// length, type, data, CRC of type + data.
void chunk(std::string *png, const char *type, const std::string &data) {
  put32(png, static_cast<uint32_t>(data.size()));
  const size_t start = png->size();
  png->append(type, 4);
  png->append(data);
  const auto crc = crc32(0, reinterpret_cast<const Bytef *>(png->data() + start),
                         static_cast<uInt>(png->size() - start));
  put32(png, static_cast<uint32_t>(crc));
}

}  // namespace

void write_gray_png(const std::string &path, const uint8_t *pixels, int width, int height) {
  if (width <= 0 || height <= 0) throw Error(path + ": cannot write an empty PNG");
  // Scanlines, each with filter type 0 (none).
  std::string raw;
  raw.reserve(size_t(width + 1) * height);
  for (int y = 0; y < height; ++y) {
    raw.push_back('\0');
    raw.append(reinterpret_cast<const char *>(pixels) + size_t(y) * width, width);
  }
  uLongf packed_size = compressBound(static_cast<uLong>(raw.size()));
  std::string packed(packed_size, '\0');
  if (compress2(reinterpret_cast<Bytef *>(packed.data()), &packed_size,
                reinterpret_cast<const Bytef *>(raw.data()), static_cast<uLong>(raw.size()),
                Z_BEST_SPEED) != Z_OK)
    throw Error(path + ": PNG compression failed");
  packed.resize(packed_size);
  std::string header;
  put32(&header, static_cast<uint32_t>(width));
  put32(&header, static_cast<uint32_t>(height));
  header +=
      std::string("\x08\x00\x00\x00\x00", 5);  // 8-bit, greyscale, deflate, no filter/interlace
  std::string png("\x89PNG\r\n\x1a\n", 8);
  chunk(&png, "IHDR", header);
  chunk(&png, "IDAT", packed);
  chunk(&png, "IEND", "");
  std::ofstream out(path, std::ios::binary);
  if (!out || !out.write(png.data(), std::streamsize(png.size())))
    throw Error(path + ": cannot write (" + std::strerror(errno) + ")");
}

}  // namespace sapnet::gst
