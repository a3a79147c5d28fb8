#include "cli/failure.h"

#include <cstring>
#include <new>

#include "error.h"

namespace sapnet::cli {
namespace {

// The first line of an exception's text (LibTorch's carry a backtrace after it).
std::string first_line(const char *what) {
  const char *end = std::strchr(what, '\n');
  return end ? std::string(what, end) : std::string(what);
}

const char *const kTileAdvice = " (for large images try --tile-size, e.g. 512)";

}  // namespace

std::string failure_message(const std::exception_ptr &e) {
  try {
    std::rethrow_exception(e);
  } catch (const Error &error) {
    return first_line(error.what());
  } catch (const std::bad_alloc &) {
    return std::string("out of memory") + kTileAdvice;
  } catch (const std::exception &error) {  // c10::Error (CUDA out of memory), JSON errors, ...
    std::string what = first_line(error.what());
    if (what.find("out of memory") != std::string::npos ||
        what.find("DefaultCPUAllocator") != std::string::npos)
      what += kTileAdvice;
    return what;
  } catch (...) {
    return "unknown error (an exception of a type not derived from std::exception)";
  }
}

}  // namespace sapnet::cli
