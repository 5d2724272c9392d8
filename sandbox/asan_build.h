/* EX_ASAN_BUILD: 1 when this file is compiled with AddressSanitizer
 * (meson -Dsanitize=true, or the fuzz build), else 0.
 *
 * ASan reserves terabytes of shadow address space when a process starts,
 * so RLIMIT_AS cannot be applied under it: every later mmap would fail.
 * Such a build skips that one limit (rlimits.c) and reports it as not
 * applied. Being decided by the compiler, a normal build can never skip
 * it, whatever its environment says.
 */
#ifndef EXTRADITE_ASAN_BUILD_H
#define EXTRADITE_ASAN_BUILD_H

#if defined(__SANITIZE_ADDRESS__)
#define EX_ASAN_BUILD 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define EX_ASAN_BUILD 1
#endif
#endif
#ifndef EX_ASAN_BUILD
#define EX_ASAN_BUILD 0
#endif

#endif
