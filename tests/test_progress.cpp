// The progress line on a terminal (a pseudo-terminal here) and on a pipe, including more items
// done than the total announced: a video container's frame count is only an estimate.
#include <fcntl.h>
#include <gtest/gtest.h>
#include <poll.h>
#include <stdlib.h>
#include <unistd.h>

#include <cstdio>
#include <string>

#include "train/progress.h"

namespace sapnet {
namespace {

// Both ends of a pseudo-terminal: what Progress writes to `terminal` is read from `reader`.
class PseudoTerminal {
 public:
  PseudoTerminal() {
    master_ = posix_openpt(O_RDWR | O_NOCTTY);
    if (master_ < 0 || grantpt(master_) != 0 || unlockpt(master_) != 0) return;
    const int slave = open(ptsname(master_), O_RDWR | O_NOCTTY);
    if (slave >= 0) terminal = fdopen(slave, "w");
    fcntl(master_, F_SETFL, O_NONBLOCK);
  }
  ~PseudoTerminal() {
    if (terminal) std::fclose(terminal);
    if (master_ >= 0) close(master_);
  }
  // What arrived until the first newline (finish() ends the line), waiting up to 5 s: written
  // text reaches the reading end asynchronously.
  std::string read_line() {
    std::string text;
    char buf[4096];
    for (int waited_ms = 0; text.find('\n') == std::string::npos && waited_ms < 5000;) {
      pollfd p{master_, POLLIN, 0};
      if (poll(&p, 1, 100) <= 0) {
        waited_ms += 100;
        continue;
      }
      const ssize_t n = read(master_, buf, sizeof buf);
      if (n <= 0) break;
      text.append(buf, size_t(n));
    }
    return text;
  }
  FILE *terminal = nullptr;

 private:
  int master_ = -1;
};

TEST(Progress, MoreDoneThanTheTotalOnATerminalShowsAFullBar) {
  PseudoTerminal pty;
  if (!pty.terminal) GTEST_SKIP() << "no pseudo-terminal available";
  Progress progress("frames", 4, pty.terminal);
  EXPECT_NO_THROW(progress.update(2));
  EXPECT_NO_THROW(progress.update(5));  // one frame more than the container announced
  EXPECT_NO_THROW(progress.finish());
  const std::string text = pty.read_line();
  EXPECT_NE(text.find("[" + std::string(30, '#') + "] 5/4"), std::string::npos) << text;
  EXPECT_EQ(text.find("] 4/4"), std::string::npos) << "the final count is the larger one: " << text;
  EXPECT_NE(text.find("[" + std::string(15, '#') + std::string(15, '.') + "] 2/4"),
            std::string::npos)
      << text;
}

TEST(Progress, OnAPipeWritesAPlainLinePerTenth) {
  int fds[2];
  ASSERT_EQ(pipe(fds), 0);
  FILE *out = fdopen(fds[1], "w");
  {
    Progress progress("eval", 10, out);
    for (size_t i = 1; i <= 12; ++i) progress.update(i);
    progress.finish();
  }
  std::fclose(out);
  std::string text;
  char buf[4096];
  for (ssize_t n; (n = read(fds[0], buf, sizeof buf)) > 0;) text.append(buf, size_t(n));
  close(fds[0]);
  EXPECT_NE(text.find("eval 1/10"), std::string::npos) << text;
  const size_t full = text.find("eval 10/10");
  EXPECT_NE(full, std::string::npos) << text;
  EXPECT_EQ(text.find("eval 10/10", full + 1), std::string::npos) << "one full line: " << text;
  EXPECT_EQ(text.find("11/10"), std::string::npos) << text;
  EXPECT_EQ(text.find("12/10"), std::string::npos) << text;
  EXPECT_EQ(text.find('\033'), std::string::npos) << "no terminal codes on a pipe";
}

}  // namespace
}  // namespace sapnet
