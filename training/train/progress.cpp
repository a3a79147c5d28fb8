#include "train/progress.h"

#include <unistd.h>

#include <algorithm>
#include <cmath>

namespace sapnet {

std::string format_duration(double s) {
  char buf[32];
  if (s < 60)
    std::snprintf(buf, sizeof buf, "%.1fs", s);
  else if (s < 3600)
    std::snprintf(buf, sizeof buf, "%dm%02ds", int(s) / 60, int(s) % 60);
  else
    std::snprintf(buf, sizeof buf, "%dh%02dm", int(s) / 3600, (int(s) % 3600) / 60);
  return buf;
}

Progress::Progress(std::string label, size_t total, FILE *out)
    : label_(std::move(label)),
      total_(total),
      out_(out),
      tty_(isatty(fileno(out))),
      start_(std::chrono::steady_clock::now()) {}

double Progress::elapsed_seconds() const {
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - start_).count();
}

void Progress::update(size_t done, const std::string &note) {
  most_done_ = std::max(most_done_, done);
  draw(done, note, false);
}

void Progress::finish(const std::string &note) {
  draw(std::max(most_done_, total_), note, true);
}

void Progress::draw(size_t done, const std::string &note, bool final) {
  const double elapsed = elapsed_seconds();
  // Clamped: a total from an estimate (a video container's frame count) can be passed.
  const double frac = total_ ? std::min(1.0, double(done) / total_) : 1.0;
  std::string eta =
      done > 0 && done < total_ ? " eta " + format_duration(elapsed / done * (total_ - done)) : "";
  std::string tail = " " + std::to_string(done) + "/" + std::to_string(total_) + " " +
                     format_duration(elapsed) + eta + (note.empty() ? "" : "  " + note);
  if (tty_) {
    constexpr int kWidth = 30;
    const int filled = static_cast<int>(std::round(frac * kWidth));
    std::fprintf(out_, "\r\033[K%s [%s%s]%s", label_.c_str(), std::string(filled, '#').c_str(),
                 std::string(kWidth - filled, '.').c_str(), tail.c_str());
    if (final) std::fputc('\n', out_);
  } else {
    const size_t tenth = static_cast<size_t>(frac * 10);
    if (tenth <= last_tenth_ && (!final || last_tenth_ == 10)) return;
    last_tenth_ = tenth;
    std::fprintf(out_, "%s%s\n", label_.c_str(), tail.c_str());
  }
  std::fflush(out_);
}

}  // namespace sapnet
