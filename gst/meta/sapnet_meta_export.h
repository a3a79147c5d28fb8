/* SAPNET_META_API marks the metas library's public functions: it is built with hidden visibility,
 * so only these are exported from libgstsapnetmeta-1.0.so. */
#pragma once

#if defined(__GNUC__)
#define SAPNET_META_API __attribute__((visibility("default")))
#else
#define SAPNET_META_API
#endif
