// Writes a file all or nothing: bytes go to PATH.tmp, and only a complete, flushed and synced file
// is renamed over PATH. A failed write (a full disk, a file-size limit) is remembered instead of
// thrown, so that writers which cannot stop half way (LibTorch's zip writer) finish cleanly, and
// commit() then throws sapnet::Error naming the file and the reason. An uncommitted writer removes
// its temporary file.
#pragma once

#include <cstddef>
#include <cstdio>
#include <streambuf>
#include <string>

namespace sapnet {

class AtomicFile {
 public:
  // Throws sapnet::Error when PATH is a folder or PATH.tmp cannot be created.
  explicit AtomicFile(std::string path);
  ~AtomicFile();
  AtomicFile(const AtomicFile &) = delete;
  AtomicFile &operator=(const AtomicFile &) = delete;

  // Always reports `size` bytes taken; a failure is kept for commit().
  size_t write(const void *data, size_t size);
  bool failed() const { return error_ != 0; }
  // Flushes, syncs and renames over the final path; throws sapnet::Error on any failure (the
  // temporary file is removed, the final path left as it was).
  void commit();

  const std::string &path() const { return path_; }

 private:
  void fail(int error);
  std::string path_, tmp_;
  std::FILE *file_ = nullptr;
  int error_ = 0;
  bool committed_ = false;
};

// A std::streambuf over an AtomicFile, for writers that take a std::ostream.
class AtomicFileBuf : public std::streambuf {
 public:
  explicit AtomicFileBuf(AtomicFile &file) : file_(file) {}

 protected:
  std::streamsize xsputn(const char *s, std::streamsize n) override {
    return std::streamsize(file_.write(s, size_t(n)));
  }
  int_type overflow(int_type c) override {
    if (traits_type::eq_int_type(c, traits_type::eof())) return traits_type::not_eof(c);
    const char ch = traits_type::to_char_type(c);
    file_.write(&ch, 1);
    return c;
  }

 private:
  AtomicFile &file_;
};

}  // namespace sapnet
