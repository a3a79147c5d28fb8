// What the build knows about its install: the version and where the bundled default model lives.
// The only file that the prefix and the version compile into, so that changing them rebuilds it
// alone.
#include <dlfcn.h>

#include <algorithm>
#include <cstdlib>
#include <filesystem>
#include <string>
#include <system_error>
#include <vector>

#include "engine.h"
#include "error.h"

#ifndef SAPNET_VERSION
#define SAPNET_VERSION "unknown"
#endif
// The model under the configured prefix, and in the source tree.
#ifndef SAPNET_DEFAULT_MODEL_INSTALLED
#define SAPNET_DEFAULT_MODEL_INSTALLED ""
#endif
#ifndef SAPNET_DEFAULT_MODEL_SOURCE
#define SAPNET_DEFAULT_MODEL_SOURCE ""
#endif
// The installed model relative to each folder that installed code runs from (the command's,
// the library's, the plugin's), e.g. "../share/sapnet/sapnet-default.sapnet" from bin/.
#ifndef SAPNET_MODEL_FROM_CODE_DIRS
#define SAPNET_MODEL_FROM_CODE_DIRS \
  { "" }
#endif

namespace sapnet {
namespace {

bool is_file(const std::filesystem::path &p) {
  std::error_code ec;
  return std::filesystem::is_regular_file(p, ec);
}

// The folder of the binary this code was linked into: the plugin, libsapnet.so or the command.
std::filesystem::path code_dir() {
  Dl_info info{};
  if (dladdr(reinterpret_cast<void *>(&default_model_path), &info) && info.dli_fname &&
      info.dli_fname[0] == '/')
    return std::filesystem::path(info.dli_fname).parent_path();
  // The main program: dladdr may give its name as typed.
  std::error_code ec;
  const auto exe = std::filesystem::read_symlink("/proc/self/exe", ec);
  return ec ? std::filesystem::path() : exe.parent_path();
}

}  // namespace

const char *version() {
  return SAPNET_VERSION;
}

std::string default_model_path() {
  if (const char *env = std::getenv("SAPNET_MODEL"); env && *env) return env;
  std::vector<std::filesystem::path> candidates;
  auto add = [&](const std::filesystem::path &p) {
    if (!p.empty() && std::find(candidates.begin(), candidates.end(), p) == candidates.end())
      candidates.push_back(p);
  };
  // Beside the running install first: a DESTDIR, a relocated tree or a .deb finds its own model
  // whatever prefix the build was configured with. The folder as loaded, then with its links
  // resolved: with Debian's merged /usr a library loaded from /lib/x86_64-linux-gnu lives in
  // /usr/lib/x86_64-linux-gnu, and its data in /usr/share, not /share.
  if (const std::filesystem::path dir = code_dir(); !dir.empty()) {
    std::error_code ec;
    const std::filesystem::path real = std::filesystem::canonical(dir, ec);
    static const char *const kFromCodeDirs[] = SAPNET_MODEL_FROM_CODE_DIRS;
    for (const std::filesystem::path &d : {dir, ec ? dir : real})
      for (const char *relative : kFromCodeDirs)
        if (*relative) add((d / relative).lexically_normal());
  }
  add(SAPNET_DEFAULT_MODEL_INSTALLED);
  add(SAPNET_DEFAULT_MODEL_SOURCE);
  std::string looked;
  for (const std::filesystem::path &p : candidates) {
    if (is_file(p)) return p.string();
    looked += (looked.empty() ? "" : ", ") + p.string();
  }
  throw Error("no bundled default model is installed (looked for " + looked +
              "); name a model file explicitly");
}

}  // namespace sapnet
