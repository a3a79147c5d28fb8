// Runs the `sapnet` executable under test ($SAPNET_EXE, set by meson) and reads its output.
#pragma once

#include <nlohmann/json.hpp>

#include <sys/wait.h>
#include <array>
#include <cstdio>
#include <cstdlib>
#include <sstream>
#include <string>

namespace sapnet::testing {

struct Result {
  int status;
  std::string out;  // stdout and stderr together
};

// `env` is prepended to the command line (e.g. "SAPNET_MODEL=x").
inline Result run_sapnet(const std::string &args, const std::string &env = "") {
  const char *exe = std::getenv("SAPNET_EXE");
  if (!exe) return {-1, "SAPNET_EXE is not set"};
  const std::string cmd = env + " '" + exe + "' " + args + " 2>&1";
  FILE *p = popen(cmd.c_str(), "r");
  if (!p) return {-1, "cannot run " + cmd};
  Result r{-1, ""};
  std::array<char, 4096> buf;
  size_t n;
  while ((n = fread(buf.data(), 1, buf.size(), p)) > 0) r.out.append(buf.data(), n);
  r.status = WEXITSTATUS(pclose(p));
  return r;
}

// The last JSON object printed (commands print progress on stderr before it, and notes after it);
// the stream read takes one value and leaves what follows.
inline nlohmann::json last_json_line(const std::string &out) {
  const auto start = out.rfind("\n{");
  std::istringstream in(out.substr(start == std::string::npos ? out.find('{') : start + 1));
  nlohmann::json value;
  in >> value;
  return value;
}

}  // namespace sapnet::testing
