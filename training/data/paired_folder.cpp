#include "data/paired_folder.h"

#include <algorithm>
#include <cctype>
#include <cstdio>
#include <filesystem>
#include <map>
#include <regex>

#include "data/image.h"
#include "error.h"

namespace fs = std::filesystem;

namespace sapnet {
namespace {

// "rain-12.png" -> "12"; "input7.png" -> "7"; "street.png" -> "street".
std::string pair_key(const fs::path &file) {
  const std::string stem = file.stem().string();
  std::smatch m;
  static const std::regex digits(R"((\d+))");
  std::string last;
  for (auto it = std::sregex_iterator(stem.begin(), stem.end(), digits);
       it != std::sregex_iterator(); ++it)
    last = (*it)[1];
  if (last.empty()) return stem;
  // The number without leading zeros, as text: names may hold more digits than any integer type.
  const size_t first = last.find_first_not_of('0');
  return first == std::string::npos ? "0" : last.substr(first);
}

bool all_digits(const std::string &s) {
  return !s.empty() &&
         std::all_of(s.begin(), s.end(), [](unsigned char c) { return std::isdigit(c); });
}

// Natural order: by the key's number when both are numbers, else by name.
bool natural_less(const std::string &a, const std::string &b) {
  const std::string ka = pair_key(a), kb = pair_key(b);
  if (all_digits(ka) && all_digits(kb) && ka != kb)  // keys hold no leading zeros
    return ka.size() != kb.size() ? ka.size() < kb.size() : ka < kb;
  return a < b;
}

// Entries that cannot be followed (a symlink loop, a dangling link) are not image files: skipped.
std::vector<fs::path> images_in(const fs::path &dir) {
  std::vector<fs::path> out;
  std::error_code ec;
  fs::directory_iterator it(dir, ec), end;
  if (ec) throw Error(dir.string() + ": cannot read folder (" + ec.message() + ")");
  for (; it != end; it.increment(ec)) {
    if (ec) throw Error(dir.string() + ": cannot read folder (" + ec.message() + ")");
    std::error_code entry_ec;
    if (it->is_regular_file(entry_ec) && has_image_extension(it->path().string()))
      out.push_back(it->path());
  }
  return out;
}

std::vector<ImagePair> match(const std::vector<fs::path> &rainy, const std::vector<fs::path> &clean,
                             const std::string &folder) {
  std::map<std::string, fs::path> by_key;
  for (auto &c : clean) {
    auto [it, added] = by_key.emplace(pair_key(c), c);
    if (!added)
      throw Error(folder + ": " + it->second.string() + " and " + c.string() +
                  " are both clean image number " + it->first + " (which one pairs is unclear)");
  }
  std::vector<ImagePair> pairs;
  for (auto &r : rainy) {
    auto it = by_key.find(pair_key(r));
    if (it == by_key.end())
      throw Error(folder + ": " + r.string() + " has no clean partner (expected one numbered " +
                  pair_key(r) + ")");
    pairs.push_back({r.string(), it->second.string()});
  }
  std::sort(pairs.begin(), pairs.end(),
            [](const ImagePair &a, const ImagePair &b) { return natural_less(a.rainy, b.rainy); });
  return pairs;
}

fs::path first_existing(const fs::path &dir, std::initializer_list<const char *> names) {
  for (const char *n : names)
    if (std::error_code ec; fs::is_directory(dir / n, ec)) return dir / n;
  return {};
}

}  // namespace

std::vector<ImagePair> find_pairs(const std::string &folder) {
  std::error_code ec;
  if (!fs::is_directory(folder, ec)) throw Error(folder + ": no such dataset folder");
  const fs::path rain_dir = first_existing(folder, {"input", "rain", "rainy"});
  const fs::path clean_dir = first_existing(folder, {"target", "gt", "label", "norain", "clean"});
  std::vector<ImagePair> pairs;
  if (!rain_dir.empty() && !clean_dir.empty()) {
    pairs = match(images_in(rain_dir), images_in(clean_dir), folder);
  } else {
    // rain-N / norain-N only: JORDER's downloads keep rainregion-N and rainstreak-N (masks and
    // streak layers) beside them, which are not rainy images.
    static const std::regex rainy_name(R"(rain[-_]?\d.*)"), clean_name(R"(norain[-_]?\d.*)");
    std::vector<fs::path> rainy, clean;
    size_t ignored = 0;
    std::string ignored_example;
    for (auto &p : images_in(folder)) {
      const std::string name = p.filename().string();
      if (std::regex_match(name, clean_name))
        clean.push_back(p);
      else if (std::regex_match(name, rainy_name))
        rainy.push_back(p);
      else if (name.rfind("rain", 0) == 0 || name.rfind("norain", 0) == 0)
        ++ignored, ignored_example = name;
    }
    if (ignored)
      std::fprintf(stderr,
                   "sapnet: note: %s: %zu image(s) named rain* but not rain-N or norain-N left "
                   "out (e.g. %s)\n",
                   folder.c_str(), ignored, ignored_example.c_str());
    if (rainy.empty())
      throw Error(folder +
                  ": no recognised layout (expected input/ and target/ folders, or "
                  "rain-N.png with norain-N.png)");
    pairs = match(rainy, clean, folder);
  }
  if (pairs.empty()) throw Error(folder + ": no image pairs found");
  return pairs;
}

std::vector<std::string> list_images(const std::string &path) {
  std::error_code ec;
  if (fs::is_regular_file(path, ec)) return {path};
  if (!fs::is_directory(path, ec)) throw Error(path + ": no such file or folder");
  std::vector<std::string> out;
  for (auto &p : images_in(path)) out.push_back(p.string());
  std::sort(out.begin(), out.end(), natural_less);
  return out;
}

}  // namespace sapnet
