// The allocation guard of the decoding fuzz targets (fuzz_event_payload,
// fuzz_snapshot_state). Defines the global operator new and delete: include it
// in exactly one file of a target.
#pragma once

#include <algorithm>
#include <cstddef>
#include <cstdio>
#include <cstdlib>
#include <new>

// Global operator new over malloc, for this target only. ASan's own operator
// new aborts when an allocation fails ("out of memory") where production
// throws std::bad_alloc, which the decoder catches and turns into a Status.
// A safety net for the bug fixed by schema/bounded_binary_archive.h (README.md,
// regressions/event_payload/string-length-*: cereal trusted length fields and
// allocated what they claimed): an allocation above kAllocLimit throws
// std::bad_alloc here, as an allocator that refuses would; with
// ACCT_FUZZ_REPORT_BIG_ALLOCS=1 it aborts instead (the regression tests set it,
// so a return of the bug fails them). ASan still checks every heap access.
namespace {
constexpr std::size_t kAllocLimit = std::size_t{64} << 20;  // payloads and snapshots are far smaller
bool report_big_allocs() {
  static const bool report = std::getenv("ACCT_FUZZ_REPORT_BIG_ALLOCS") != nullptr;
  return report;
}
void refuse(std::size_t n) {
  if (report_big_allocs()) {
    std::fprintf(stderr, "fuzz target: allocation of %zu bytes: a length field was trusted\n", n);
    std::abort();
  }
  throw std::bad_alloc();
}
void* fuzz_alloc(std::size_t n) {
  if (n > kAllocLimit) refuse(n);
  if (void* p = std::malloc(n == 0 ? 1 : n)) return p;
  throw std::bad_alloc();
}
void* fuzz_alloc_aligned(std::size_t n, std::align_val_t a) {
  if (n > kAllocLimit) refuse(n);
  void* p = nullptr;
  const std::size_t align = std::max(static_cast<std::size_t>(a), sizeof(void*));
  if (posix_memalign(&p, align, n == 0 ? 1 : n) == 0 && p != nullptr) return p;
  throw std::bad_alloc();
}
}  // namespace
void* operator new(std::size_t n) { return fuzz_alloc(n); }
void* operator new[](std::size_t n) { return fuzz_alloc(n); }
void* operator new(std::size_t n, const std::nothrow_t&) noexcept {
  try { return fuzz_alloc(n); } catch (...) { return nullptr; }
}
void* operator new[](std::size_t n, const std::nothrow_t&) noexcept {
  try { return fuzz_alloc(n); } catch (...) { return nullptr; }
}
void* operator new(std::size_t n, std::align_val_t a) { return fuzz_alloc_aligned(n, a); }
void* operator new[](std::size_t n, std::align_val_t a) { return fuzz_alloc_aligned(n, a); }
void* operator new(std::size_t n, std::align_val_t a, const std::nothrow_t&) noexcept {
  try { return fuzz_alloc_aligned(n, a); } catch (...) { return nullptr; }
}
void* operator new[](std::size_t n, std::align_val_t a, const std::nothrow_t&) noexcept {
  try { return fuzz_alloc_aligned(n, a); } catch (...) { return nullptr; }
}
void operator delete(void* p) noexcept { std::free(p); }
void operator delete[](void* p) noexcept { std::free(p); }
void operator delete(void* p, std::size_t) noexcept { std::free(p); }
void operator delete[](void* p, std::size_t) noexcept { std::free(p); }
void operator delete(void* p, const std::nothrow_t&) noexcept { std::free(p); }
void operator delete[](void* p, const std::nothrow_t&) noexcept { std::free(p); }
void operator delete(void* p, std::align_val_t) noexcept { std::free(p); }
void operator delete[](void* p, std::align_val_t) noexcept { std::free(p); }
void operator delete(void* p, std::size_t, std::align_val_t) noexcept { std::free(p); }
void operator delete[](void* p, std::size_t, std::align_val_t) noexcept { std::free(p); }
void operator delete(void* p, std::align_val_t, const std::nothrow_t&) noexcept { std::free(p); }
void operator delete[](void* p, std::align_val_t, const std::nothrow_t&) noexcept { std::free(p); }
