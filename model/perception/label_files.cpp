#include "perception/label_files.h"

#include <algorithm>
#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <nlohmann/json.hpp>
#include <sstream>
#include <utility>

#include "error.h"

namespace sapnet {
namespace {

void drop_trailing_blanks(std::string *line) {
  while (!line->empty() && (line->back() == '\r' || line->back() == ' ')) line->pop_back();
}

// Class i is the i-th category in id order (how YOLO-style COCO models number the 80 classes).
CategoryMap coco_categories(const std::string &path, const std::string &text) {
  nlohmann::json j;
  try {
    j = nlohmann::json::parse(text);
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
  CategoryMap map;
  for (size_t k = 0; k < cats.size(); ++k) {
    if (k > 0 && cats[k].first == cats[k - 1].first)
      throw Error(path + ": category id " + std::to_string(cats[k].first) + " appears twice");
    map.ids.push_back(cats[k].first);
    map.names.push_back(cats[k].second);
  }
  return map;
}

CategoryMap id_lines(const std::string &path, const std::string &text) {
  CategoryMap map;
  std::istringstream lines(text);
  int line_no = 0;
  for (std::string line; std::getline(lines, line);) {
    ++line_no;
    drop_trailing_blanks(&line);
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

}  // namespace

std::vector<std::string> read_class_names(const std::string &path) {
  std::ifstream in(path);
  if (!in) throw Error(path + ": cannot open the class-name file (" + std::strerror(errno) + ")");
  std::vector<std::string> names;
  for (std::string line; std::getline(in, line);) {
    drop_trailing_blanks(&line);
    names.push_back(line);
  }
  if (in.bad()) throw Error(path + ": cannot read the class-name file");
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
  const size_t first = s.find_first_not_of(" \t\r\n");
  return first != std::string::npos && s[first] == '{' ? coco_categories(path, s)
                                                       : id_lines(path, s);
}

}  // namespace sapnet
