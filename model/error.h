// The one exception type of libsapnet: a message a user can act on (file, what is wrong).
#pragma once

#include <stdexcept>
#include <string>

#include "export.h"

namespace sapnet {

class SAPNET_API Error : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

}  // namespace sapnet
