// `sapnet train --nproc N`: N local copies of the command, each told its rank the way torchrun
// would (RANK, LOCAL_RANK, WORLD_SIZE, LOCAL_WORLD_SIZE, MASTER_ADDR, MASTER_PORT), without any
// launcher installed. Torch-free.
#pragma once

#include <string>
#include <utility>
#include <vector>

namespace sapnet::dist {

struct LaunchOptions {
  std::string exe;                // the program every rank runs (/proc/self/exe for the command)
  std::vector<std::string> args;  // its arguments, the same for every rank
  int nproc = 1;
  // After the first rank fails, the others get this long to stop by themselves (they notice
  // within --dist-timeout) before they are killed.
  double grace_s = 30;
  // Extra variables for every rank (NAME, value).
  std::vector<std::pair<std::string, std::string>> env;
  std::string label = "sapnet train";  // prefix of the launcher's own messages
};

// Starts the ranks and waits for all of them. Returns 0 when every rank succeeded, else the status
// of the first rank that failed (128 + N for a signal N). Ctrl-C reaches the ranks (they save and
// stop together); the launcher itself waits for them. Throws sapnet::Error if a rank cannot start.
int launch_local(const LaunchOptions &options);

// A TCP port on 127.0.0.1 that nothing listens on at the moment of the call.
int free_local_port();

// `args` without `--name VALUE` / `--name=VALUE` (the launcher's own flags, which the ranks must
// not see again).
std::vector<std::string> without_option(const std::vector<std::string> &args,
                                        const std::string &name);

}  // namespace sapnet::dist
