#include "distributed/launcher.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <signal.h>
#include <spawn.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <cstdio>
#include <cstring>
#include <thread>

#include "error.h"

extern char **environ;

namespace sapnet::dist {
namespace {

std::atomic<int> g_forward{0};  // a signal the launcher received and passes on to the ranks
void on_signal(int sig) {
  g_forward = sig;
}

// The launcher passes Ctrl-C and SIGTERM on to the ranks (which save and stop together) instead of
// dying before them; the previous handlers return however launching ends.
class SignalScope {
 public:
  SignalScope() {
    struct sigaction forward {};
    forward.sa_handler = on_signal;
    sigaction(SIGINT, &forward, &int_);
    sigaction(SIGTERM, &forward, &term_);
    g_forward = 0;
  }
  ~SignalScope() {
    sigaction(SIGINT, &int_, nullptr);
    sigaction(SIGTERM, &term_, nullptr);
  }
  SignalScope(const SignalScope &) = delete;
  SignalScope &operator=(const SignalScope &) = delete;

 private:
  struct sigaction int_ {
  }, term_{};
};

// The environment of one rank: ours, with the rendezvous variables replaced.
std::vector<std::string> rank_environment(const LaunchOptions &o, int rank, int port) {
  static const char *const kOwned[] = {
      "RANK",        "LOCAL_RANK", "WORLD_SIZE", "LOCAL_WORLD_SIZE", "MASTER_ADDR",
      "MASTER_PORT", "GROUP_RANK", "ROLE_RANK",  "ROLE_WORLD_SIZE"};
  std::vector<std::string> env;
  for (char **e = environ; *e; ++e) {
    const std::string entry = *e;
    const std::string name = entry.substr(0, entry.find('='));
    bool owned = false;
    for (const char *k : kOwned) owned = owned || name == k;
    for (const auto &[k, v] : o.env) owned = owned || name == k;
    if (!owned) env.push_back(entry);
  }
  const std::string n = std::to_string(o.nproc), r = std::to_string(rank);
  for (const auto &[k, v] :
       std::vector<std::pair<std::string, std::string>>{{"RANK", r},
                                                        {"LOCAL_RANK", r},
                                                        {"GROUP_RANK", "0"},
                                                        {"WORLD_SIZE", n},
                                                        {"LOCAL_WORLD_SIZE", n},
                                                        {"MASTER_ADDR", "127.0.0.1"},
                                                        {"MASTER_PORT", std::to_string(port)}})
    env.push_back(k + "=" + v);
  for (const auto &[k, v] : o.env) env.push_back(k + "=" + v);
  return env;
}

std::vector<char *> pointers(std::vector<std::string> &strings) {
  std::vector<char *> p;
  for (auto &s : strings) p.push_back(s.data());
  p.push_back(nullptr);
  return p;
}

std::string describe_status(int status) {
  if (WIFSIGNALED(status))
    return "was killed by signal " + std::to_string(WTERMSIG(status)) + " (" +
           strsignal(WTERMSIG(status)) + ")";
  return "exited with status " + std::to_string(WEXITSTATUS(status));
}

int exit_code(int status) {
  return WIFSIGNALED(status) ? 128 + WTERMSIG(status) : WEXITSTATUS(status);
}

}  // namespace

int free_local_port() {
  const int fd = socket(AF_INET, SOCK_STREAM, 0);
  if (fd < 0) throw Error(std::string("--nproc: no socket for a free port: ") + strerror(errno));
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  addr.sin_port = 0;  // the kernel picks
  socklen_t len = sizeof addr;
  const bool ok = bind(fd, reinterpret_cast<sockaddr *>(&addr), sizeof addr) == 0 &&
                  getsockname(fd, reinterpret_cast<sockaddr *>(&addr), &len) == 0;
  const int err = errno;
  close(fd);
  if (!ok) throw Error(std::string("--nproc: cannot find a free local port: ") + strerror(err));
  return ntohs(addr.sin_port);
}

std::vector<std::string> without_option(const std::vector<std::string> &args,
                                        const std::string &name) {
  std::vector<std::string> out;
  for (size_t i = 0; i < args.size(); ++i) {
    if (args[i] == name) {
      ++i;  // and its value
      continue;
    }
    if (args[i].rfind(name + "=", 0) == 0) continue;
    out.push_back(args[i]);
  }
  return out;
}

int launch_local(const LaunchOptions &o) {
  if (o.nproc < 1) throw Error(o.label + ": --nproc must be at least 1");
  const int port = free_local_port();
  const SignalScope signals;

  posix_spawnattr_t attr;
  posix_spawnattr_init(&attr);
  sigset_t defaults, empty;
  sigemptyset(&defaults);
  sigaddset(&defaults, SIGINT);
  sigaddset(&defaults, SIGTERM);
  sigemptyset(&empty);
  posix_spawnattr_setsigdefault(&attr, &defaults);  // the ranks handle Ctrl-C themselves
  posix_spawnattr_setsigmask(&attr, &empty);
  posix_spawnattr_setflags(&attr, POSIX_SPAWN_SETSIGDEF | POSIX_SPAWN_SETSIGMASK);

  std::vector<std::string> argv_strings{o.exe};
  argv_strings.insert(argv_strings.end(), o.args.begin(), o.args.end());
  std::vector<char *> argv = pointers(argv_strings);

  std::vector<pid_t> pids;
  for (int rank = 0; rank < o.nproc; ++rank) {
    std::vector<std::string> env_strings = rank_environment(o, rank, port);
    std::vector<char *> envp = pointers(env_strings);
    pid_t pid = 0;
    const int err = posix_spawn(&pid, o.exe.c_str(), nullptr, &attr, argv.data(), envp.data());
    if (err != 0) {
      for (pid_t p : pids) kill(p, SIGKILL);
      for (pid_t p : pids) waitpid(p, nullptr, 0);
      posix_spawnattr_destroy(&attr);
      throw Error(o.label + ": cannot start rank " + std::to_string(rank) + " (" + o.exe +
                  "): " + strerror(err));
    }
    pids.push_back(pid);
  }
  posix_spawnattr_destroy(&attr);

  using Clock = std::chrono::steady_clock;
  int first_failed = -1, result = 0, running = o.nproc;
  Clock::time_point deadline{};
  std::vector<bool> done(o.nproc, false), killed(o.nproc, false);
  while (running > 0) {
    if (const int sig = g_forward.exchange(0))
      for (int r = 0; r < o.nproc; ++r)
        if (!done[r]) kill(pids[r], sig);
    bool reaped = false;
    for (int r = 0; r < o.nproc; ++r) {
      if (done[r]) continue;
      int status = 0;
      const pid_t got = waitpid(pids[r], &status, WNOHANG);
      if (got == 0 || (got < 0 && errno == EINTR)) continue;
      done[r] = true, --running, reaped = true;
      const bool failed = got < 0 || !WIFEXITED(status) || WEXITSTATUS(status) != 0;
      if (!failed) continue;
      // A rank that failed by itself said why; a signal or an unexpected status is said here.
      if ((got < 0 || WIFSIGNALED(status) || first_failed < 0) && !killed[r])
        std::fprintf(stderr, "%s: rank %d of %d %s\n", o.label.c_str(), r, o.nproc,
                     got < 0 ? "vanished" : describe_status(status).c_str());
      if (first_failed < 0) {
        first_failed = r;
        result = got < 0 ? 1 : exit_code(status);
        deadline = Clock::now() + std::chrono::duration_cast<Clock::duration>(
                                      std::chrono::duration<double>(o.grace_s));
      }
    }
    if (first_failed >= 0 && running > 0 && Clock::now() > deadline) {
      for (int r = 0; r < o.nproc; ++r)
        if (!done[r]) {
          std::fprintf(stderr, "%s: rank %d of %d still ran %g s after rank %d failed: killed\n",
                       o.label.c_str(), r, o.nproc, o.grace_s, first_failed);
          kill(pids[r], SIGKILL);
          killed[r] = true;
        }
      deadline = Clock::time_point::max();
    }
    if (!reaped && running > 0) std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  return result;
}

}  // namespace sapnet::dist
