// How `sapnet` ends on an exception: one line on stderr and a nonzero status, never an abort.
#pragma once

#include <exception>
#include <string>

namespace sapnet::cli {

// The one-line message for `e` (LibTorch's backtraces cut off; advice added for out-of-memory;
// anything not derived from std::exception still named).
std::string failure_message(const std::exception_ptr &e);

}  // namespace sapnet::cli
