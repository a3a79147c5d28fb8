#include "property_parsing.h"

#include <cerrno>
#include <cstdlib>

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

}  // namespace sapnet::gst
