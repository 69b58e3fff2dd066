// TEST ONLY. Assertions on refusals: the code, and the field or rule they name.
#pragma once

#include <gtest/gtest.h>

#include "aggregates/testing/fixtures.h"

namespace accountable::testing {

inline ::testing::AssertionResult is_invalid(const Status& s, const std::string& field) {
  if (s.code() != StatusCode::kInvalidArgument || s.field() != field) {
    return ::testing::AssertionFailure() << "expected invalid_argument [" << field << "], got " << s.to_string();
  }
  if (s.message().empty()) return ::testing::AssertionFailure() << "no message saying why";
  return ::testing::AssertionSuccess();
}

inline ::testing::AssertionResult is_rule(const Status& s, std::string_view rule_id) {
  if (s.code() != StatusCode::kRuleViolated || rule_of(s) != rule_id) {
    return ::testing::AssertionFailure() << "expected rule_violated " << rule_id << ", got " << s.to_string();
  }
  return ::testing::AssertionSuccess();
}

// The rule, naming the field.
inline ::testing::AssertionResult is_rule(const Status& s, std::string_view rule_id, const std::string& field) {
  if (s.code() != StatusCode::kRuleViolated || rule_of(s) != rule_id || s.field() != field) {
    return ::testing::AssertionFailure() << "expected rule_violated " << rule_id << " [" << field << "], got "
                                         << s.to_string();
  }
  return ::testing::AssertionSuccess();
}

inline ::testing::AssertionResult is_code(const Status& s, StatusCode code, const std::string& field = "") {
  if (s.code() != code || (!field.empty() && s.field() != field)) {
    return ::testing::AssertionFailure() << "expected " << status_code_name(code) << " [" << field << "], got "
                                         << s.to_string();
  }
  return ::testing::AssertionSuccess();
}

// Runs the command and checks that a refusal wrote nothing.
inline Status run(World& w, const Principal& actor, const Command& c) {
  size_t before = w.store.total_events();
  Status s = w.execute(actor, c);
  if (!s.is_ok()) {
    EXPECT_EQ(w.store.total_events(), before) << "a refused command wrote events";
  }
  return s;
}

}  // namespace accountable::testing
