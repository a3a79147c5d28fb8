// Where tests find ../shared (data, weights, fixtures): $SAPNET_SHARED_DIR, set by meson. Tests
// that need it skip with a clear message when it is absent.
#pragma once

#include <gtest/gtest.h>

#include <cstdlib>
#include <filesystem>
#include <string>

namespace sapnet::testing {

inline std::string shared_path(const std::string &relative) {
  const char *root = std::getenv("SAPNET_SHARED_DIR");
  if (!root || !*root) return "";
  const auto p = std::filesystem::path(root) / relative;
  return std::filesystem::exists(p) ? p.string() : "";
}

// A fresh temporary folder, removed with the object.
class TempDir {
 public:
  TempDir() {
    std::string tmpl = (std::filesystem::temp_directory_path() / "sapnet-test-XXXXXX").string();
    path_ = mkdtemp(tmpl.data()) ? tmpl : "";
  }
  ~TempDir() {
    std::error_code ec;
    if (!path_.empty()) std::filesystem::remove_all(path_, ec);
  }
  std::string operator/(const std::string &name) const {
    return (std::filesystem::path(path_) / name).string();
  }
  const std::string &path() const { return path_; }

 private:
  std::string path_;
};

}  // namespace sapnet::testing

// Skips the test when a file of ../shared is missing.
#define SAPNET_REQUIRE_SHARED(var, relative)                      \
  const std::string var = sapnet::testing::shared_path(relative); \
  if (var.empty()) GTEST_SKIP() << "../shared/" << relative << " is absent (set SAPNET_SHARED_DIR)"
