#include "data/paired_folder.h"

#include <algorithm>
#include <cstdio>
#include <filesystem>
#include <map>
#include <regex>

#include "data/image.h"
#include "error.h"

namespace fs = std::filesystem;

namespace sapnet {
namespace {

// The numbers in a file name, without leading zeros and as text (names may hold more digits than
// any integer type): "rain-012x2.png" -> {"12", "2"}.
std::vector<std::string> numbers_in(const fs::path &file) {
  const std::string stem = file.stem().string();
  static const std::regex digits(R"(\d+)");
  std::vector<std::string> numbers;
  for (auto it = std::sregex_iterator(stem.begin(), stem.end(), digits);
       it != std::sregex_iterator(); ++it) {
    const std::string n = it->str();
    const size_t first = n.find_first_not_of('0');
    numbers.push_back(first == std::string::npos ? "0" : n.substr(first));
  }
  return numbers;
}

// The first `count` numbers as one key ("12-2"); a name without numbers is its own key.
std::string key_of(const fs::path &file, const std::vector<std::string> &numbers, size_t count) {
  if (numbers.empty()) return file.stem().string();
  std::string key;
  for (size_t i = 0; i < count; ++i) key += (i ? "-" : "") + numbers[i];
  return key;
}

std::string pair_key(const fs::path &file) {
  const auto numbers = numbers_in(file);
  return key_of(file, numbers, numbers.size());
}

bool number_less(const std::string &a, const std::string &b) {  // no leading zeros
  return a.size() != b.size() ? a.size() < b.size() : a < b;
}

// Natural order: by the names' numbers when both have some, else by name.
bool natural_less(const std::string &a, const std::string &b) {
  const auto na = numbers_in(a), nb = numbers_in(b);
  if (!na.empty() && !nb.empty() && na != nb)
    return std::lexicographical_compare(na.begin(), na.end(), nb.begin(), nb.end(), number_less);
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
  // A rainy image pairs with the clean image whose numbers are the longest leading run of its own:
  // "rain-12" with "norain-12", and also JORDER's "norain-12x2" (a scale suffix) and DDN's "12_3"
  // (the third rain over clean image 12) with "12".
  std::vector<ImagePair> pairs;
  for (auto &r : rainy) {
    const auto numbers = numbers_in(r);
    auto it = by_key.end();
    for (size_t count = numbers.size(); it == by_key.end(); --count) {
      it = by_key.find(key_of(r, numbers, count));
      if (count <= 1) break;
    }
    if (it == by_key.end())
      throw Error(folder + ": " + r.string() + " has no clean partner (expected one numbered " +
                  pair_key(r) + (numbers.size() > 1 ? " or " + numbers[0] : "") + ")");
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

std::string dataset_name(const std::string &path) {
  fs::path p = fs::path(path).lexically_normal();
  // "." or ".." name no folder by themselves: the folder they stand for does.
  if (p.filename() == "." || p.filename() == ".." || p.filename().empty()) {
    std::error_code error;
    const fs::path absolute = fs::absolute(path, error);
    if (!error) p = absolute.lexically_normal();
  }
  if (p.filename().empty()) p = p.parent_path();
  return p.filename().empty() ? path : p.filename().string();
}

}  // namespace sapnet
