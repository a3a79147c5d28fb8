#include "atomic_file.h"

#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <filesystem>

#include "error.h"

namespace sapnet {

AtomicFile::AtomicFile(std::string path) : path_(std::move(path)), tmp_(path_ + ".tmp") {
  std::error_code ec;
  if (std::filesystem::is_directory(path_, ec))
    throw Error(path_ + ": is a folder (give a file name to write)");
  file_ = std::fopen(tmp_.c_str(), "wb");
  if (!file_) throw Error(path_ + ": cannot create " + tmp_ + " (" + std::strerror(errno) + ")");
}

AtomicFile::~AtomicFile() {
  if (file_) std::fclose(file_);
  if (!committed_) std::remove(tmp_.c_str());
}

void AtomicFile::fail(int error) {
  if (!error_) error_ = error ? error : EIO;
}

size_t AtomicFile::write(const void *data, size_t size) {
  if (!error_ && size && std::fwrite(data, 1, size, file_) != size) fail(errno);
  return size;
}

void AtomicFile::commit() {
  if (!error_ && std::fflush(file_) != 0) fail(errno);
  if (!error_ && ::fsync(fileno(file_)) != 0) fail(errno);
  if (std::fclose(file_) != 0) fail(errno);
  file_ = nullptr;
  if (!error_ && std::rename(tmp_.c_str(), path_.c_str()) != 0) fail(errno);
  if (error_) {
    std::remove(tmp_.c_str());
    throw Error(path_ + ": cannot write (" + std::strerror(error_) +
                "); nothing was written there");
  }
  committed_ = true;
}

}  // namespace sapnet
