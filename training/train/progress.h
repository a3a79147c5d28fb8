// A progress line for long work: a bar, counts, rate and ETA on a terminal; on a pipe or log, a
// plain line every tenth of the way so logs stay readable.
#pragma once

#include <chrono>
#include <cstdio>
#include <string>

namespace sapnet {

class Progress {
 public:
  Progress(std::string label, size_t total, FILE *out = stderr);
  // Marks `done` items finished; `note` (e.g. "psnr 30.1") is shown after the counts.
  void update(size_t done, const std::string &note = "");
  void finish(const std::string &note = "");
  double elapsed_seconds() const;

 private:
  void draw(size_t done, const std::string &note, bool final);
  std::string label_;
  size_t total_;
  FILE *out_;
  bool tty_;
  size_t last_tenth_ = 0;
  size_t most_done_ = 0;  // the count finish() shows when more than the total were done
  std::chrono::steady_clock::time_point start_;
};

// "1m05s", "3.2s".
std::string format_duration(double seconds);

}  // namespace sapnet
