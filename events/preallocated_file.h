// PreallocatingFile: a WritableFile that can zero-fill space past its append
// point, ahead of the writer. An append that lands inside that space and its
// fdatasync change neither the file's size nor its extents, so the fdatasync
// writes the data alone (no inode, no journal commit). The log uses it when an
// Env's files offer it (posix_env(), FaultInjectionEnv) and appends plainly
// otherwise. See docs/log-format.md, "Preallocated segments".
#pragma once

#include <cstdint>

#include "events/env.h"

namespace accountable {

class PreallocatingFile : public WritableFile {
 public:
  // Writes zeros from the file's physical end up to `length` bytes (nothing
  // when it is already that long); size(), the append point, does not move.
  // Not durable until sync(). A failure may leave a prefix of the zeros.
  virtual Status preallocate(uint64_t length) = 0;
  // The file's physical length: size() plus the zeros after it.
  virtual uint64_t allocated() const = 0;
  // Moves the append point to `offset` (<= allocated()), keeping the bytes
  // after it; appends then overwrite them in place. For reopening a segment
  // at the end of its last commit, before its zero tail.
  virtual Status set_append_point(uint64_t offset) = 0;
};

}  // namespace accountable
