#include "schema/notification_ids.h"

#include <charconv>

namespace accountable {

namespace {

std::optional<uint64_t> decimal(std::string_view text) {
  // Digits only, no leading zero: one spelling per number, so ids compare as text.
  if (text.empty() || text.size() > 19 || (text.size() > 1 && text[0] == '0')) return std::nullopt;
  uint64_t v = 0;
  auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), v);
  if (ec != std::errc() || end != text.data() + text.size()) return std::nullopt;
  return v;
}

}  // namespace

std::string log_notification_id(uint64_t position) { return std::to_string(position); }

std::string tax_notification_id(const ExemptionId& exemption, Timestamp expires_on) {
  return "tax." + exemption.to_string() + "." + std::to_string(expires_on.micros);
}

std::optional<uint64_t> log_notification_position(std::string_view id) {
  auto v = decimal(id);
  if (!v || *v == 0) return std::nullopt;
  return v;
}

Status check_notification_id(std::string_view id, const std::string& field) {
  if (log_notification_position(id)) return Status::ok();
  constexpr std::string_view kTax = "tax.";
  if (id.substr(0, kTax.size()) == kTax) {
    const std::string_view rest = id.substr(kTax.size());
    const size_t dot = rest.find('.');
    if (dot != std::string_view::npos) {
      auto exemption = ExemptionId::parse(rest.substr(0, dot));
      // At most 18 digits: every expiry to the year 33658, and a pattern can say it.
      auto micros = rest.size() - dot - 1 <= 18 ? decimal(rest.substr(dot + 1)) : std::nullopt;
      if (exemption && micros && exemption->to_string() == rest.substr(0, dot)) {
        return Status::ok();
      }
    }
  }
  return invalid_argument("is not a notification id (a log position such as \"1234\", or \"tax.<exemption id>.<micros>\")",
                          field);
}

}  // namespace accountable
