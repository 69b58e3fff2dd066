#include "events/status.h"

namespace accountable {

std::string_view status_code_name(StatusCode code) {
  switch (code) {
    case StatusCode::kOk: return "ok";
    case StatusCode::kInvalidArgument: return "invalid_argument";
    case StatusCode::kNotFound: return "not_found";
    case StatusCode::kAlreadyExists: return "already_exists";
    case StatusCode::kWrongExpectedVersion: return "wrong_expected_version";
    case StatusCode::kConflict: return "conflict";
    case StatusCode::kCorruption: return "corruption";
    case StatusCode::kIOError: return "io_error";
    case StatusCode::kBusy: return "busy";
    case StatusCode::kPoisoned: return "poisoned";
    case StatusCode::kLocked: return "locked";
    case StatusCode::kUnauthenticated: return "unauthenticated";
    case StatusCode::kForbidden: return "forbidden";
    case StatusCode::kRuleViolated: return "rule_violated";
    case StatusCode::kNotYet: return "not_yet";
    case StatusCode::kUnavailable: return "unavailable";
    case StatusCode::kOutcomeUnknown: return "outcome_unknown";
    case StatusCode::kNoSpace: return "no_space";
    case StatusCode::kInternal: return "internal";
  }
  return "unknown";
}

const std::string& Status::message() const {
  static const std::string kEmpty;
  return rep_ ? rep_->message : kEmpty;
}

const std::string& Status::field() const {
  static const std::string kEmpty;
  return rep_ ? rep_->field : kEmpty;
}

std::string Status::to_string() const {
  if (is_ok()) return "ok";
  std::string out(status_code_name(rep_->code));
  out += ": ";
  out += rep_->message;
  if (!rep_->field.empty()) {
    out += " [";
    out += rep_->field;
    out += "]";
  }
  return out;
}

}  // namespace accountable
