// SAPNET_API marks libsapnet's public API. The library is built with hidden visibility, so only
// what carries this mark is exported from libsapnet.so (and an app cannot come to depend on an
// internal symbol).
#pragma once

#if defined(__GNUC__)
#define SAPNET_API __attribute__((visibility("default")))
#else
#define SAPNET_API
#endif
