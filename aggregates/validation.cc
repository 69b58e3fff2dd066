#include "aggregates/validation.h"

#include <cctype>

#include "aggregates/country_rules.h"

namespace accountable {

namespace {

bool is_upper(char c) { return c >= 'A' && c <= 'Z'; }
bool is_lower(char c) { return c >= 'a' && c <= 'z'; }
bool is_digit(char c) { return c >= '0' && c <= '9'; }

}  // namespace

size_t code_points(std::string_view utf8) {
  size_t n = 0;
  for (unsigned char c : utf8) {
    if ((c & 0xC0) != 0x80) ++n;  // count every byte that is not a continuation byte
  }
  return n;
}

Status check_length(std::string_view value, size_t min, size_t max, const std::string& field) {
  size_t n = code_points(value);
  if (n < min || n > max) {
    std::string why = min == 0 ? "must be at most " + std::to_string(max) + " characters"
                               : "must be " + std::to_string(min) + " to " + std::to_string(max) + " characters";
    return invalid_argument(why + " (got " + std::to_string(n) + ")", field);
  }
  return Status::ok();
}

Status check_country(std::string_view value, const std::string& field) {
  if (value.size() != 2 || !is_upper(value[0]) || !is_upper(value[1])) {
    return invalid_argument("must be exactly 2 upper-case letters (ISO 3166-1 alpha-2)", field);
  }
  if (!is_iso_country(value)) return invalid_argument("is not an ISO 3166-1 alpha-2 country code", field);
  return Status::ok();
}

Status check_currency(std::string_view value, const std::string& field) {
  if (value.size() != 3 || !is_upper(value[0]) || !is_upper(value[1]) || !is_upper(value[2])) {
    return invalid_argument("must be an ISO 4217 code of 3 upper-case letters", field);
  }
  return Status::ok();
}

Status check_email(std::string_view value, const std::string& field) {
  if (value.empty()) return invalid_argument("is required", field);
  if (value.size() > 254) return invalid_argument("must be at most 254 characters", field);
  size_t at = value.find('@');
  if (at == std::string_view::npos || at == 0 || value.find('@', at + 1) != std::string_view::npos) {
    return invalid_argument("must be an email address with one '@'", field);
  }
  std::string_view domain = value.substr(at + 1);
  if (domain.size() < 3 || domain.find('.') == std::string_view::npos || domain.front() == '.' ||
      domain.back() == '.') {
    return invalid_argument("must have a domain such as example.com after '@'", field);
  }
  for (char c : value) {
    if (static_cast<unsigned char>(c) <= 0x20) return invalid_argument("must not contain spaces", field);
  }
  return Status::ok();
}

Status check_phone(std::string_view value, const std::string& field) {
  if (value.size() > 32) return invalid_argument("must be at most 32 characters", field);
  for (char c : value) {
    if (!is_digit(c) && c != '+' && c != ' ' && c != '-' && c != '(' && c != ')' && c != '.') {
      return invalid_argument("may contain only digits, spaces and + - ( ) .", field);
    }
  }
  return Status::ok();
}

Status check_url(std::string_view value, const std::string& field) {
  if (value.empty()) return Status::ok();
  if (value.size() > 2048) return invalid_argument("must be at most 2048 characters", field);
  if (value.rfind("https://", 0) != 0 && value.rfind("http://", 0) != 0) {
    return invalid_argument("must start with https:// or http://", field);
  }
  return Status::ok();
}

Status check_mpn_id(std::string_view value, const std::string& field) {
  if (value.empty() || value.size() > 10) return invalid_argument("must be 1 to 10 digits", field);
  for (char c : value) {
    if (!is_digit(c)) return invalid_argument("must be digits only", field);
  }
  return Status::ok();
}

Status check_uuid(std::string_view value, const std::string& field) {
  auto parsed = parse_uuid_bytes(value);
  if (!parsed) return invalid_argument(parsed.status().message(), field);
  return Status::ok();
}

Status check_domain_name(std::string_view value, const std::string& field) {
  if (value.empty() || value.size() > 253) return invalid_argument("must be 1 to 253 characters", field);
  if (value.find('.') == std::string_view::npos || value.front() == '.' || value.back() == '.') {
    return invalid_argument("must be a domain name such as contoso.onmicrosoft.com", field);
  }
  for (char c : value) {
    if (!is_lower(c) && !is_digit(c) && c != '-' && c != '.') {
      return invalid_argument("may contain only a-z 0-9 - .", field);
    }
  }
  return Status::ok();
}

Status check_language(std::string_view value, const std::string& field) {
  if (value.size() < 2 || value.size() > 3) return invalid_argument("must be a 2 or 3 letter language code", field);
  for (char c : value) {
    if (!is_lower(c)) return invalid_argument("must be lower-case letters (ISO 639)", field);
  }
  return Status::ok();
}

Status check_culture(std::string_view value, const std::string& field) {
  bool ok = value.size() == 5 && is_lower(value[0]) && is_lower(value[1]) && value[2] == '-' && is_lower(value[3]) &&
            is_lower(value[4]);
  if (!ok) return invalid_argument("must look like en-us (language-country, lower case)", field);
  return Status::ok();
}

Status check_region(std::string_view value, const std::string& field) {
  if (value.empty() || value.size() > 32) return invalid_argument("must be 1 to 32 characters", field);
  for (char c : value) {
    if (!is_lower(c) && !is_digit(c) && c != '-') return invalid_argument("may contain only a-z 0-9 -", field);
  }
  return Status::ok();
}

Status check_offer_id(std::string_view value, const std::string& field) {
  if (value.empty() || value.size() > 64) return invalid_argument("must be 1 to 64 characters", field);
  for (char c : value) {
    if (!is_lower(c) && !is_upper(c) && !is_digit(c) && c != '-') {
      return invalid_argument("may contain only A-Z a-z 0-9 -", field);
    }
  }
  return Status::ok();
}

Status check_address(const Address& a, const std::string& prefix) {
  ACCT_RETURN_IF_ERROR(check_length(a.line1, 1, 200, prefix + ".line1"));
  ACCT_RETURN_IF_ERROR(check_length(a.line2, 0, 200, prefix + ".line2"));
  ACCT_RETURN_IF_ERROR(check_length(a.city, 1, 100, prefix + ".city"));
  ACCT_RETURN_IF_ERROR(check_length(a.state, 0, 2, prefix + ".state"));
  ACCT_RETURN_IF_ERROR(check_length(a.postal_code, 0, 20, prefix + ".postal_code"));
  ACCT_RETURN_IF_ERROR(check_country(a.country, prefix + ".country"));
  ACCT_RETURN_IF_ERROR(check_length(a.region, 0, 100, prefix + ".region"));
  return Status::ok();
}

Status check_contact(const ContactDetails& c, const std::string& prefix) {
  ACCT_RETURN_IF_ERROR(check_length(c.first_name, 1, 50, prefix + ".first_name"));
  ACCT_RETURN_IF_ERROR(check_length(c.last_name, 1, 50, prefix + ".last_name"));
  ACCT_RETURN_IF_ERROR(check_email(c.email, prefix + ".email"));
  ACCT_RETURN_IF_ERROR(check_phone(c.phone, prefix + ".phone"));
  return Status::ok();
}

}  // namespace accountable
