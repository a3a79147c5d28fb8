// What a call throws, for tests of error messages: the sapnet::Error text, or "" when it succeeds.
#pragma once

#include <gtest/gtest.h>

#include <functional>
#include <string>

#include "error.h"

namespace sapnet::testing {

inline std::string error_of(const std::function<void()> &fn) {
  try {
    fn();
  } catch (const Error &e) {
    return e.what();
  }
  return "";
}

}  // namespace sapnet::testing

#define EXPECT_CONTAINS(haystack, needle) \
  EXPECT_NE(std::string(haystack).find(needle), std::string::npos) << "message: " << (haystack)
