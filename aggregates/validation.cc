#include "aggregates/validation.h"

#include <cctype>
#include <set>

#include "schema/country_rules.h"
#include "schema/notification_ids.h"

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
  if (code_points(value) > 254) return invalid_argument("must be at most 254 characters", field);
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
  if (code_points(value) > 2048) return invalid_argument("must be at most 2048 characters", field);
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
  ACCT_RETURN_IF_ERROR(check_field(a.line1, field_rule<Address>("line1"), prefix + ".line1"));
  ACCT_RETURN_IF_ERROR(check_field(a.line2, field_rule<Address>("line2"), prefix + ".line2"));
  ACCT_RETURN_IF_ERROR(check_field(a.city, field_rule<Address>("city"), prefix + ".city"));
  ACCT_RETURN_IF_ERROR(check_field(a.state, field_rule<Address>("state"), prefix + ".state"));
  ACCT_RETURN_IF_ERROR(check_field(a.postal_code, field_rule<Address>("postal_code"), prefix + ".postal_code"));
  ACCT_RETURN_IF_ERROR(check_field(a.country, field_rule<Address>("country"), prefix + ".country"));
  ACCT_RETURN_IF_ERROR(check_field(a.region, field_rule<Address>("region"), prefix + ".region"));
  return Status::ok();
}

Status check_contact(const ContactDetails& c, const std::string& prefix) {
  ACCT_RETURN_IF_ERROR(check_field(c.first_name, field_rule<ContactDetails>("first_name"), prefix + ".first_name"));
  ACCT_RETURN_IF_ERROR(check_field(c.last_name, field_rule<ContactDetails>("last_name"), prefix + ".last_name"));
  ACCT_RETURN_IF_ERROR(check_field(c.email, field_rule<ContactDetails>("email"), prefix + ".email"));
  ACCT_RETURN_IF_ERROR(check_field(c.phone, field_rule<ContactDetails>("phone"), prefix + ".phone"));
  return Status::ok();
}

Status check_field(std::string_view value, const FieldRule& rule, const std::string& field) {
  if (rule.empty_ok && value.empty()) return Status::ok();
  switch (rule.kind) {
    case FieldKind::kText:
      return check_length(value, static_cast<size_t>(rule.min), static_cast<size_t>(rule.max), field);
    case FieldKind::kEmail: return check_email(value, field);
    case FieldKind::kPhone: return check_phone(value, field);
    case FieldKind::kUrl: return check_url(value, field);
    case FieldKind::kLinkedInUrl:
      if (!value.empty() && value.rfind("https://www.linkedin.com/company/", 0) != 0) {
        return invalid_argument("must be a LinkedIn company page (https://www.linkedin.com/company/...)", field);
      }
      return check_url(value, field);
    case FieldKind::kCountry: return check_country(value, field);
    case FieldKind::kCurrency: return check_currency(value, field);
    case FieldKind::kMpnId: return check_mpn_id(value, field);
    case FieldKind::kUuid: return check_uuid(value, field);
    case FieldKind::kDomainName: return check_domain_name(value, field);
    case FieldKind::kLanguage: return check_language(value, field);
    case FieldKind::kCulture: return check_culture(value, field);
    case FieldKind::kRegion: return check_region(value, field);
    case FieldKind::kOfferId: return check_offer_id(value, field);
    case FieldKind::kNotificationId: return check_notification_id(value, field);
    case FieldKind::kNumber:
    case FieldKind::kList: break;
  }
  return Status(StatusCode::kInternal, "field " + field + " has no text rule");
}

Status check_number(int64_t value, const FieldRule& rule, const std::string& field) {
  if (value < rule.min || value > rule.max) {
    if (rule.max == INT64_MAX) return invalid_argument("must be at least " + std::to_string(rule.min), field);
    return invalid_argument("must be " + std::to_string(rule.min) + " to " + std::to_string(rule.max), field);
  }
  return Status::ok();
}

Status check_list_size(size_t size, const FieldRule& rule, const std::string& field) {
  if (static_cast<int64_t>(size) < rule.min) {
    return invalid_argument("must hold at least " + std::to_string(rule.min) + (rule.min == 1 ? " item" : " items"),
                            field);
  }
  if (rule.max != INT64_MAX && static_cast<int64_t>(size) > rule.max) {
    return invalid_argument("must hold at most " + std::to_string(rule.max) + " items (got " +
                                std::to_string(size) + ")",
                            field);
  }
  return Status::ok();
}

Status check_list(const std::vector<std::string>& items, const FieldRule& rule, const FieldRule& item,
                  const std::string& field) {
  ACCT_RETURN_IF_ERROR(check_list_size(items.size(), rule, field));
  std::set<std::string_view> seen;
  for (size_t i = 0; i < items.size(); ++i) {
    const std::string name = field + "[" + std::to_string(i) + "]";
    ACCT_RETURN_IF_ERROR(check_field(items[i], item, name));
    if (rule.unique && !seen.insert(items[i]).second) return invalid_argument("is listed twice", name);
  }
  return Status::ok();
}

}  // namespace accountable
