// Status and Result<T>: the one error model of the engine (abseil/leveldb style).
//
// Errors are values. An OK Status carries no allocation. Return the most specific
// code that applies; `field` names the offending input (a JSON field, a stream, a
// file position) so that a caller can show it without parsing the message.
#pragma once

#include <cassert>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <variant>

namespace accountable {

enum class StatusCode : unsigned char {
  kOk = 0,
  kInvalidArgument,     // malformed input; `field` says which
  kNotFound,
  kAlreadyExists,
  kWrongExpectedVersion,  // optimistic concurrency: decide again from fresh state
  kConflict,            // e.g. a command id reused with different content
  kCorruption,          // bytes on disk failed a check; never trusted afterwards
  kIOError,             // the OS refused an operation (EIO, ...; a full disk is kNoSpace)
  kBusy,                // a bounded queue is full; retry later
  kPoisoned,            // a write or fsync failed; writes refused until restart
  kLocked,              // another process holds the data folder
  kUnauthenticated,
  kForbidden,
  kRuleViolated,
  kNotYet,              // a read-your-writes wait ran out
  kUnavailable,         // cluster: not committed to Kafka, or this node does not lead; nothing written
  kOutcomeUnknown,      // cluster: a commit to Kafka failed after it was sent; it may have landed
  kNoSpace,             // ENOSPC / EDQUOT: a file system is full; what failed was not written
  kInternal,
};

std::string_view status_code_name(StatusCode code);

class [[nodiscard]] Status {
 public:
  Status() = default;  // OK
  Status(StatusCode code, std::string message, std::string field = {})
      : rep_(code == StatusCode::kOk ? nullptr
                                     : std::make_shared<Rep>(Rep{code, std::move(message), std::move(field)})) {}

  static Status ok() { return {}; }

  bool is_ok() const { return rep_ == nullptr; }
  explicit operator bool() const { return is_ok(); }
  StatusCode code() const { return rep_ ? rep_->code : StatusCode::kOk; }
  const std::string& message() const;
  const std::string& field() const;

  // "code: message" (plus " [field]"), for logs and CLI output.
  std::string to_string() const;

  // Marks a deliberately ignored status, so that the intent is visible in review.
  void ignore() const {}

 private:
  struct Rep {
    StatusCode code;
    std::string message;
    std::string field;
  };
  std::shared_ptr<const Rep> rep_;  // shared: copying an error is cheap
};

inline Status invalid_argument(std::string message, std::string field = {}) {
  return {StatusCode::kInvalidArgument, std::move(message), std::move(field)};
}
inline Status not_found(std::string message, std::string field = {}) {
  return {StatusCode::kNotFound, std::move(message), std::move(field)};
}
inline Status corruption(std::string message) { return {StatusCode::kCorruption, std::move(message)}; }
// A damaged file: "<file>: <why> at offset <offset>".
inline Status corrupt_at(const std::string& file, uint64_t offset, std::string_view why) {
  return corruption(file + ": " + std::string(why) + " at offset " + std::to_string(offset));
}
inline Status io_error(std::string message) { return {StatusCode::kIOError, std::move(message)}; }

// Result<T>: a value or a non-OK Status.
template <class T>
class [[nodiscard]] Result {
 public:
  Result(T value) : v_(std::move(value)) {}  // NOLINT: implicit by design
  Result(Status status) : v_(std::move(status)) { assert(!std::get<Status>(v_).is_ok()); }  // NOLINT

  bool is_ok() const { return std::holds_alternative<T>(v_); }
  explicit operator bool() const { return is_ok(); }

  const Status& status() const {
    static const Status kOk;
    return is_ok() ? kOk : std::get<Status>(v_);
  }
  T& value() & { return std::get<T>(v_); }
  const T& value() const& { return std::get<T>(v_); }
  T&& value() && { return std::get<T>(std::move(v_)); }
  T* operator->() { return &value(); }
  const T* operator->() const { return &value(); }
  T& operator*() & { return value(); }
  const T& operator*() const& { return value(); }

 private:
  std::variant<T, Status> v_;
};

}  // namespace accountable

// Propagates a non-OK Status to the caller.
#define ACCT_RETURN_IF_ERROR(expr)            \
  do {                                        \
    ::accountable::Status acct_status_ = (expr);     \
    if (!acct_status_.is_ok()) return acct_status_; \
  } while (0)
