#include "schema/json_codec.h"

#include <boost/json.hpp>
#include <boost/json/basic_parser_impl.hpp>

#include <array>
#include <cstdint>
#include <limits>
#include <set>
#include <type_traits>
#include <utility>
#include <vector>

#include "events/text_form.h"
#include "schema/country_rules.h"
#include "schema/enum_names.h"
#include "schema/event_json.h"
#include "schema/field_rules.h"

namespace accountable {

namespace json = boost::json;

namespace {

// ---- pass 1: syntax, UTF-8, depth, duplicate keys, with byte offsets ---------------
//
// Boost.JSON keeps the last of duplicate keys silently; a command that says
// "role" twice is ambiguous, so a validating pass refuses it first and names it.

class CheckHandler {
 public:
  static constexpr std::size_t max_array_size = -1;
  static constexpr std::size_t max_object_size = -1;
  static constexpr std::size_t max_string_size = -1;
  static constexpr std::size_t max_key_size = -1;

  std::string duplicate_path;  // set when a duplicate key stopped the parse

  bool on_document_begin(json::error_code&) { return true; }
  bool on_document_end(json::error_code&) { return true; }
  bool on_array_begin(json::error_code&) {
    begin_value();
    frames_.push_back(Frame{false, {}, {}, 0});
    return true;
  }
  bool on_array_end(std::size_t, json::error_code&) {
    frames_.pop_back();
    return true;
  }
  bool on_object_begin(json::error_code&) {
    begin_value();
    frames_.push_back(Frame{true, {}, {}, 0});
    return true;
  }
  bool on_object_end(std::size_t, json::error_code&) {
    frames_.pop_back();
    return true;
  }
  bool on_string_part(json::string_view, std::size_t, json::error_code&) { return true; }
  bool on_string(json::string_view, std::size_t, json::error_code&) { return begin_value(); }
  bool on_key_part(json::string_view s, std::size_t, json::error_code&) {
    key_.append(s.data(), s.size());
    return true;
  }
  bool on_key(json::string_view s, std::size_t, json::error_code& ec) {
    key_.append(s.data(), s.size());
    Frame& f = frames_.back();
    if (!f.keys.insert(key_).second) {
      duplicate_path = path() + (frames_.size() > 1 ? "." : "") + key_;
      ec = boost::system::errc::make_error_code(boost::system::errc::invalid_argument);
      return false;
    }
    f.key = std::move(key_);
    key_.clear();
    return true;
  }
  bool on_number_part(json::string_view, json::error_code&) { return true; }
  bool on_int64(std::int64_t, json::string_view, json::error_code&) { return begin_value(); }
  bool on_uint64(std::uint64_t, json::string_view, json::error_code&) { return begin_value(); }
  bool on_double(double, json::string_view, json::error_code&) { return begin_value(); }
  bool on_bool(bool, json::error_code&) { return begin_value(); }
  bool on_null(json::error_code&) { return begin_value(); }
  bool on_comment_part(json::string_view, json::error_code&) { return true; }
  bool on_comment(json::string_view, json::error_code&) { return true; }

 private:
  struct Frame {
    bool object;
    std::set<std::string> keys;
    std::string key;     // object: the current key
    std::size_t count;   // array: elements begun so far
  };

  bool begin_value() {
    if (!frames_.empty() && !frames_.back().object) ++frames_.back().count;
    return true;
  }
  // The path of the innermost container ("" for the top-level object).
  std::string path() const {
    std::string p;
    for (size_t i = 0; i + 1 < frames_.size(); ++i) {
      const Frame& f = frames_[i];
      if (f.object) {
        if (!p.empty()) p += '.';
        p += f.key;
      } else {
        p += "[" + std::to_string(f.count - 1) + "]";
      }
    }
    return p;
  }

  std::vector<Frame> frames_;
  std::string key_;
};

json::parse_options parse_options() {
  json::parse_options opt;
  opt.max_depth = kMaxCommandJsonDepth;
  opt.allow_comments = false;
  opt.allow_trailing_commas = false;
  opt.allow_invalid_utf8 = false;
  return opt;
}

// A short, printable excerpt of the text at `offset`, for error messages.
std::string near(std::string_view text, std::size_t offset) {
  if (offset >= text.size()) return {};
  std::string out = " near \"";
  static const char* kHex = "0123456789abcdef";
  for (std::size_t i = offset; i < text.size() && i < offset + 12; ++i) {
    auto c = static_cast<unsigned char>(text[i]);
    if (c >= 0x20 && c < 0x7f && c != '"' && c != '\\') {
      out += static_cast<char>(c);
    } else {
      out += "\\x";
      out += kHex[c >> 4];
      out += kHex[c & 0xf];
    }
  }
  return out + "\"";
}

Status check_text(std::string_view text) {
  if (text.size() > kMaxCommandJsonBytes) {
    return invalid_argument("the command is too large: " + std::to_string(text.size()) + " bytes (limit " +
                            std::to_string(kMaxCommandJsonBytes) + ")");
  }
  json::basic_parser<CheckHandler> p(parse_options());
  json::error_code ec;
  std::size_t n = p.write_some(false, text.data(), text.size(), ec);
  if (!ec && n < text.size()) {
    return invalid_argument("malformed JSON at byte " + std::to_string(n) + ": extra data after the object");
  }
  if (!ec) return Status::ok();
  if (!p.handler().duplicate_path.empty()) {
    return invalid_argument("duplicate key (at byte " + std::to_string(n) + ")", p.handler().duplicate_path);
  }
  std::string why;
  if (ec == json::error::too_deep) {
    why = "nested deeper than " + std::to_string(kMaxCommandJsonDepth) + " levels";
  } else if (ec == json::error::syntax && n < text.size() && static_cast<unsigned char>(text[n]) >= 0x80) {
    why = "invalid UTF-8";
  } else if (ec == json::error::incomplete) {
    why = "unexpected end of input";
  } else {
    why = ec.message();
  }
  return invalid_argument("malformed JSON at byte " + std::to_string(n) + ": " + why + near(text, n));
}

// ---- enum spellings: schema/enum_names.h ------------------------------------

template <class T>
concept JsonEnum = NamedEnum<T>;

// ---- field lists: one per struct, used by the reader and the writer ---------------
//
// fields(f, x) calls f(name, member, optional) for every member in JSON order.

constexpr bool kOpt = true;

template <class F> void fields(F& f, Address& x) {
  f("line1", x.line1); f("line2", x.line2, kOpt); f("city", x.city); f("state", x.state, kOpt);
  f("postal_code", x.postal_code, kOpt); f("country", x.country); f("region", x.region, kOpt);
}
template <class F> void fields(F& f, ContactDetails& x) {
  f("first_name", x.first_name); f("last_name", x.last_name); f("email", x.email); f("phone", x.phone, kOpt);
}
template <class F> void fields(F& f, LegalProfileInput& x) {
  f("company_name", x.company_name); f("address", x.address); f("primary_contact", x.primary_contact);
  f("approver_email", x.approver_email); f("approver_address", x.approver_address);
}
template <class F> void fields(F& f, BillingProfileInput& x) {
  f("company_name", x.company_name); f("address", x.address); f("primary_contact", x.primary_contact);
  f("purchase_order_number", x.purchase_order_number, kOpt); f("tax_id", x.tax_id, kOpt);
}
template <class F> void fields(F& f, SupportProfile& x) {
  f("email", x.email); f("phone", x.phone, kOpt); f("website", x.website, kOpt);
}
template <class F> void fields(F& f, Offer& x) {
  f("offer_id", x.offer_id); f("display_name", x.display_name); f("segment", x.segment);
  f("license_agreement_type", x.license_agreement_type); f("purchase_unit", x.purchase_unit);
  f("secondary_license_type", x.secondary_license_type); f("base_offer_ids", x.base_offer_ids, kOpt);
  f("end_customer_type", x.end_customer_type); f("billing_model", x.billing_model);
}
template <class F> void fields(F& f, PriceRow& x) {
  f("change_code", x.change_code); f("valid_from", x.valid_from); f("valid_to", x.valid_to);
  f("offer_display_name", x.offer_display_name); f("offer_id", x.offer_id);
  f("license_agreement_type", x.license_agreement_type); f("purchase_unit", x.purchase_unit);
  f("secondary_license_type", x.secondary_license_type); f("end_customer_type", x.end_customer_type);
  f("list_price_micros", x.list_price_micros); f("erp_price_micros", x.erp_price_micros);
}
template <class F> void fields(F& f, PriceList& x) {
  f("market", x.market); f("currency", x.currency); f("year", x.year); f("month", x.month);
  f("billing_model", x.billing_model); f("rows", x.rows);
}
template <class F> void fields(F& f, Logo& x) {
  f("format", x.format); f("width_px", x.width_px); f("image_ref", x.image_ref);
}
template <class F> void fields(F& f, BusinessProfileDetails& x) {
  f("logo", x.logo, kOpt); f("description", x.description, kOpt); f("website", x.website, kOpt);
  f("linkedin_url", x.linkedin_url, kOpt); f("industry_focus", x.industry_focus, kOpt);
  f("products", x.products, kOpt); f("service_types", x.service_types, kOpt); f("skills", x.skills, kOpt);
  f("allow_vendor_endorsement", x.allow_vendor_endorsement, kOpt);
  f("target_customer_sizes", x.target_customer_sizes, kOpt);
  f("refuse_referrals_outside_target_sizes", x.refuse_referrals_outside_target_sizes, kOpt);
}
// Event-only value types.
template <class F> void fields(F& f, LegalProfile& x) {
  f("company_name", x.company_name); f("address", x.address); f("primary_contact", x.primary_contact);
  f("approver_email", x.approver_email); f("approver_address", x.approver_address);
}
template <class F> void fields(F& f, BillingProfile& x) {
  f("company_name", x.company_name); f("address", x.address); f("primary_contact", x.primary_contact);
  f("purchase_order_number", x.purchase_order_number); f("tax_id", x.tax_id);
}
template <class F> void fields(F& f, OrganizationProfile& x) {
  f("tenant_id", x.tenant_id); f("default_domain", x.default_domain); f("email", x.email);
  f("language", x.language); f("culture", x.culture);
}

// ---- commands ----
template <class F> void fields(F& f, EnrollPartner& x) {
  f("admin", x.admin); f("partner_name", x.partner_name); f("mpn_id", x.mpn_id); f("legal", x.legal);
  f("tenant_id", x.tenant_id); f("default_domain", x.default_domain); f("language", x.language);
  f("culture", x.culture); f("billing_currency", x.billing_currency, kOpt);
}
template <class F> void fields(F& f, UpdateLegalProfile& x) { f("partner_id", x.partner_id); f("legal", x.legal); }
template <class F> void fields(F& f, UpdateSupportProfile& x) { f("partner_id", x.partner_id); f("support", x.support); }
template <class F> void fields(F& f, UpdateBillingProfile& x) {
  f("partner_id", x.partner_id); f("billing", x.billing); f("billing_currency", x.billing_currency);
}
template <class F> void fields(F& f, UpdateOrganizationProfile& x) {
  f("partner_id", x.partner_id); f("default_domain", x.default_domain); f("email", x.email);
  f("language", x.language); f("culture", x.culture);
}
template <class F> void fields(F& f, AddLocation& x) {
  f("partner_id", x.partner_id); f("address", x.address); f("mpn_id", x.mpn_id);
}
template <class F> void fields(F& f, RemoveLocation& x) { f("partner_id", x.partner_id); f("location_id", x.location_id); }
template <class F> void fields(F& f, FileTaxExemption& x) {
  f("partner_id", x.partner_id); f("jurisdiction", x.jurisdiction); f("certificate_ref", x.certificate_ref);
  f("valid_from", x.valid_from); f("expires_on", x.expires_on);
}
template <class F> void fields(F& f, RevokeTaxExemption& x) {
  f("partner_id", x.partner_id); f("exemption_id", x.exemption_id); f("reason", x.reason, kOpt);
}
template <class F> void fields(F& f, RenewTaxExemption& x) {
  f("partner_id", x.partner_id); f("exemption_id", x.exemption_id); f("certificate_ref", x.certificate_ref);
  f("valid_from", x.valid_from); f("expires_on", x.expires_on);
}
template <class F> void fields(F& f, CreateUser& x) {
  f("partner_id", x.partner_id); f("profile", x.profile); f("roles", x.roles, kOpt);
}
template <class F> void fields(F& f, UpdateUserProfile& x) {
  f("partner_id", x.partner_id); f("user_id", x.user_id); f("profile", x.profile);
}
template <class F> void fields(F& f, AssignRole& x) { f("partner_id", x.partner_id); f("user_id", x.user_id); f("role", x.role); }
template <class F> void fields(F& f, RemoveRole& x) { f("partner_id", x.partner_id); f("user_id", x.user_id); f("role", x.role); }
template <class F> void fields(F& f, ResetPassword& x) { f("partner_id", x.partner_id); f("user_id", x.user_id); }
template <class F> void fields(F& f, ChangePassword& x) { f("partner_id", x.partner_id); f("user_id", x.user_id); }
template <class F> void fields(F& f, UpdateOwnProfile& x) {
  f("partner_id", x.partner_id); f("user_id", x.user_id); f("first_name", x.first_name); f("last_name", x.last_name);
  f("phone", x.phone, kOpt);
}
template <class F> void fields(F& f, MarkNotificationsRead& x) {
  f("partner_id", x.partner_id); f("user_id", x.user_id); f("up_to", x.up_to, kOpt); f("ids", x.ids, kOpt);
}
template <class F> void fields(F& f, DeactivateUser& x) { f("partner_id", x.partner_id); f("user_id", x.user_id); }
template <class F> void fields(F& f, RestoreUser& x) { f("partner_id", x.partner_id); f("user_id", x.user_id); }
template <class F> void fields(F& f, PurgeUser& x) { f("partner_id", x.partner_id); f("user_id", x.user_id); }
template <class F> void fields(F& f, CreateBusinessProfile& x) {
  f("partner_id", x.partner_id); f("region", x.region); f("details", x.details);
}
template <class F> void fields(F& f, UpdateBusinessProfile& x) {
  f("partner_id", x.partner_id); f("region", x.region); f("details", x.details);
}
template <class F> void fields(F& f, AddProfileLocation& x) {
  f("partner_id", x.partner_id); f("region", x.region); f("address", x.address); f("phone", x.phone, kOpt);
}
template <class F> void fields(F& f, RemoveProfileLocation& x) {
  f("partner_id", x.partner_id); f("region", x.region); f("location_id", x.location_id);
}
template <class F> void fields(F& f, PublishBusinessProfile& x) { f("partner_id", x.partner_id); f("region", x.region); }
template <class F> void fields(F& f, UnpublishBusinessProfile& x) { f("partner_id", x.partner_id); f("region", x.region); }
template <class F> void fields(F& f, PinOffer& x) { f("partner_id", x.partner_id); f("offer_id", x.offer_id); }
template <class F> void fields(F& f, UnpinOffer& x) { f("partner_id", x.partner_id); f("offer_id", x.offer_id); }
template <class F> void fields(F& f, ReorderPins& x) { f("partner_id", x.partner_id); f("offer_ids", x.offer_ids); }
template <class F> void fields(F& f, PublishOffer& x) { f("offer", x.offer); }
template <class F> void fields(F& f, UpdateOffer& x) { f("offer", x.offer); }
template <class F> void fields(F& f, RetireOffer& x) { f("offer_id", x.offer_id); }
template <class F> void fields(F& f, PublishPriceList& x) { f("price_list", x.price_list); }
template <class F> void fields(F& f, SetVettingStatus& x) {
  f("partner_id", x.partner_id); f("status", x.status); f("sub_status", x.sub_status);
}
template <class F> void fields(F& f, SuspendPartner& x) {
  f("partner_id", x.partner_id); f("reason", x.reason); f("days_overdue", x.days_overdue, kOpt);
  f("note", x.note, kOpt);
}
template <class F> void fields(F& f, ReinstatePartner& x) { f("partner_id", x.partner_id); }
template <class F> void fields(F& f, IssueAuditorAccess& x) {
  f("partner_id", x.partner_id); f("auditor_email", x.auditor_email); f("valid_until", x.valid_until);
}
template <class F> void fields(F& f, CorrectMpnId& x) {
  f("partner_id", x.partner_id); f("mpn_id", x.mpn_id); f("reason", x.reason);
}
template <class F> void fields(F& f, RevokeAuditorAccess& x) {
  f("partner_id", x.partner_id); f("grant_id", x.grant_id); f("reason", x.reason);
}
template <class F> void fields(F& f, AcceptResellerAgreement& x) {
  f("partner_id", x.partner_id); f("agreement_version", x.agreement_version);
}
template <class F> void fields(F& f, AcceptTaxId& x) { f("partner_id", x.partner_id); f("tax_id", x.tax_id); }
template <class F> void fields(F& f, SetAuthorizedRegions& x) { f("partner_id", x.partner_id); f("regions", x.regions); }
template <class F> void fields(F& f, SetEarnedTags& x) {
  f("partner_id", x.partner_id); f("competencies", x.competencies); f("endorsements", x.endorsements);
}

// ---- events (written only) ----
template <class F> void fields(F& f, PartnerEnrolled& x) {
  f("partner_id", x.partner_id); f("partner_name", x.partner_name); f("mpn_id", x.mpn_id); f("legal", x.legal);
  f("organization", x.organization); f("billing_currency", x.billing_currency); f("enrolled_at", x.enrolled_at);
}
template <class F> void fields(F& f, LegalProfileUpdated& x) { f("legal", x.legal); }
template <class F> void fields(F& f, VettingStatusChanged& x) { f("status", x.status); f("sub_status", x.sub_status); }
template <class F> void fields(F& f, SupportProfileUpdated& x) { f("support", x.support); }
template <class F> void fields(F& f, BillingProfileUpdated& x) { f("billing", x.billing); }
template <class F> void fields(F& f, OrganizationProfileUpdated& x) { f("organization", x.organization); }
template <class F> void fields(F& f, LocationAdded& x) {
  f("location_id", x.location_id); f("address", x.address); f("mpn_id", x.mpn_id);
}
template <class F> void fields(F& f, LocationRemoved& x) { f("location_id", x.location_id); }
template <class F> void fields(F& f, TaxExemptionFiled& x) {
  f("exemption_id", x.exemption_id); f("jurisdiction", x.jurisdiction); f("certificate_ref", x.certificate_ref);
  f("valid_from", x.valid_from); f("expires_on", x.expires_on); f("filed_at", x.filed_at);
}
template <class F> void fields(F& f, TaxExemptionRevoked& x) { f("exemption_id", x.exemption_id); f("reason", x.reason); }
template <class F> void fields(F& f, PartnerSuspended& x) {
  f("reason", x.reason); f("days_overdue", x.days_overdue); f("note", x.note); f("at", x.at);
}
template <class F> void fields(F& f, PartnerReinstated& x) { f("at", x.at); }
template <class F> void fields(F& f, OfferPinned& x) { f("offer_id", x.offer_id); }
template <class F> void fields(F& f, OfferUnpinned& x) { f("offer_id", x.offer_id); }
template <class F> void fields(F& f, PinsReordered& x) { f("offer_ids", x.offer_ids); }
template <class F> void fields(F& f, AuditorAccessIssued& x) {
  f("grant_id", x.grant_id); f("auditor_email", x.auditor_email); f("valid_from", x.valid_from);
  f("valid_until", x.valid_until);
}
template <class F> void fields(F& f, MpnIdCorrected& x) {
  f("previous_mpn_id", x.previous_mpn_id); f("mpn_id", x.mpn_id); f("reason", x.reason); f("at", x.at);
}
template <class F> void fields(F& f, NotificationsRead& x) {
  f("up_to", x.up_to); f("ids", x.ids); f("at", x.at);
}
template <class F> void fields(F& f, AuditorAccessRevoked& x) {
  f("grant_id", x.grant_id); f("reason", x.reason); f("at", x.at);
}
template <class F> void fields(F& f, PartnerUserAdded& x) { f("user_id", x.user_id); f("email_fingerprint", x.email_fingerprint); }
template <class F> void fields(F& f, PartnerUserEmailChanged& x) {
  f("user_id", x.user_id); f("email_fingerprint", x.email_fingerprint);
}
template <class F> void fields(F& f, PartnerUserRemoved& x) { f("user_id", x.user_id); }
template <class F> void fields(F& f, GlobalAdminActivated& x) { f("user_id", x.user_id); }
template <class F> void fields(F& f, GlobalAdminDeactivated& x) { f("user_id", x.user_id); }
template <class F> void fields(F& f, UserCreated& x) {
  f("user_id", x.user_id); f("partner_id", x.partner_id); f("profile", x.profile);
  f("email_fingerprint", x.email_fingerprint);
}
template <class F> void fields(F& f, UserProfileUpdated& x) { f("profile", x.profile); f("email_fingerprint", x.email_fingerprint); }
template <class F> void fields(F& f, RoleAssigned& x) { f("role", x.role); }
template <class F> void fields(F& f, RoleRemoved& x) { f("role", x.role); }
template <class F> void fields(F& f, PasswordSet& x) {
  f("reason", x.reason); f("by", x.by); f("must_change_at_next_sign_in", x.must_change_at_next_sign_in);
}
template <class F> void fields(F& f, UserDeactivated& x) { f("at", x.at); }
template <class F> void fields(F& f, UserRestored& x) { f("at", x.at); }
template <class F> void fields(F& f, UserPurged& x) { f("at", x.at); }
template <class F> void fields(F& f, BusinessProfileCreated& x) {
  f("partner_id", x.partner_id); f("region", x.region); f("details", x.details);
}
template <class F> void fields(F& f, BusinessProfileUpdated& x) { f("details", x.details); }
template <class F> void fields(F& f, ProfileLocationAdded& x) {
  f("location_id", x.location_id); f("address", x.address); f("phone", x.phone);
}
template <class F> void fields(F& f, ProfileLocationRemoved& x) { f("location_id", x.location_id); }
template <class F> void fields(F& f, BusinessProfilePublished& x) { f("at", x.at); }
template <class F> void fields(F& f, BusinessProfileUnpublished& x) { f("at", x.at); }
template <class F> void fields(F& f, OfferPublished& x) { f("offer", x.offer); }
template <class F> void fields(F& f, OfferUpdated& x) { f("offer", x.offer); }
template <class F> void fields(F& f, OfferRetired& x) { f("offer_id", x.offer_id); f("at", x.at); }
template <class F> void fields(F& f, PriceListPublished& x) { f("price_list", x.price_list); f("published_at", x.published_at); }
template <class F> void fields(F& f, ResellerAgreementAccepted& x) {
  f("agreement_version", x.agreement_version); f("accepted_by", x.accepted_by); f("at", x.at);
}
template <class F> void fields(F& f, TaxIdAccepted& x) { f("tax_id", x.tax_id); f("at", x.at); }
template <class F> void fields(F& f, AuthorizedRegionsSet& x) { f("regions", x.regions); }
template <class F> void fields(F& f, EarnedTagsSet& x) { f("competencies", x.competencies); f("endorsements", x.endorsements); }

// A struct is "described" when fields(f, x) exists for it. Checked through a probe
// functor so that overload resolution sees the real signature.
struct Probe {
  template <class M>
  void operator()(std::string_view, M&, bool = false) {}
};
template <class T>
concept HasFields = requires(Probe& p, T& t) { fields(p, t); };

template <class T>
struct IsVector : std::false_type {};
template <class T>
struct IsVector<std::vector<T>> : std::true_type {};
template <class T>
struct IsOptional : std::false_type {};
template <class T>
struct IsOptional<std::optional<T>> : std::true_type {};
template <class T>
struct IsId : std::false_type {};
template <class Tag>
struct IsId<Id128<Tag>> : std::true_type {};
template <class T>
struct IsPersonal : std::false_type {};
template <class T>
struct IsPersonal<Personal<T>> : std::true_type {};

// ---- reader ------------------------------------------------------------------------

std::string join(const std::string& prefix, std::string_view name) {
  return prefix.empty() ? std::string(name) : prefix + "." + std::string(name);
}

std::string_view kind_of(const json::value& v) {
  switch (v.kind()) {
    case json::kind::null: return "null";
    case json::kind::bool_: return "a boolean";
    case json::kind::int64:
    case json::kind::uint64: return "an integer";
    case json::kind::double_: return "a number with a fraction or exponent";
    case json::kind::string: return "a string";
    case json::kind::array: return "an array";
    case json::kind::object: return "an object";
  }
  return "a value";
}

Status wrong_type(const json::value& v, std::string_view expected, const std::string& path) {
  return invalid_argument("must be " + std::string(expected) + " (got " + std::string(kind_of(v)) + ")", path);
}

template <class T>
Status read(const json::value& v, T& out, const std::string& path);

struct NameCollector {
  std::vector<std::string_view> names;
  template <class M>
  void operator()(std::string_view name, M&, bool = false) {
    names.push_back(name);
  }
};

struct FieldReader {
  const json::object& obj;
  const std::string& prefix;
  Status status;
  template <class M>
  void operator()(std::string_view name, M& member, bool optional = false) {
    if (!status.is_ok()) return;
    const json::value* v = obj.if_contains(json::string_view(name.data(), name.size()));
    std::string path = join(prefix, name);
    if (!v) {
      if (!optional) status = invalid_argument("is required", path);
      return;
    }
    status = read(*v, member, path);
  }
};

template <class T>
Status read_object(const json::value& v, T& out, const std::string& path) {
  if (!v.is_object()) return wrong_type(v, "an object", path);
  const json::object& obj = v.get_object();
  NameCollector names;
  fields(names, out);
  for (const auto& kv : obj) {
    std::string_view key(kv.key().data(), kv.key().size());
    bool known = false;
    for (std::string_view n : names.names) known = known || n == key;
    if (!known) return invalid_argument("unknown field", join(path, key));
  }
  FieldReader reader{obj, path, Status::ok()};
  fields(reader, out);
  return reader.status;
}

template <class I>
Status read_integer(const json::value& v, I& out, const std::string& path) {
  constexpr auto lo = std::numeric_limits<I>::min();
  constexpr auto hi = std::numeric_limits<I>::max();
  auto range = [&] {
    return invalid_argument("must be an integer from " + std::to_string(lo) + " to " + std::to_string(hi), path);
  };
  if (v.is_int64()) {
    std::int64_t x = v.get_int64();
    if constexpr (std::is_signed_v<I>) {
      if (x < static_cast<std::int64_t>(lo) || x > static_cast<std::int64_t>(hi)) return range();
    } else {
      if (x < 0 || static_cast<std::uint64_t>(x) > static_cast<std::uint64_t>(hi)) return range();
    }
    out = static_cast<I>(x);
    return Status::ok();
  }
  if (v.is_uint64()) {
    std::uint64_t x = v.get_uint64();
    if (x > static_cast<std::uint64_t>(hi)) return range();
    out = static_cast<I>(x);
    return Status::ok();
  }
  return wrong_type(v, "an integer", path);
}

template <class T>
Status read(const json::value& v, T& out, const std::string& path) {
  if constexpr (std::is_same_v<T, std::string>) {
    if (!v.is_string()) return wrong_type(v, "a string", path);
    out.assign(v.get_string().data(), v.get_string().size());
    return Status::ok();
  } else if constexpr (std::is_same_v<T, bool>) {
    if (!v.is_bool()) return wrong_type(v, "a boolean", path);
    out = v.get_bool();
    return Status::ok();
  } else if constexpr (JsonEnum<T>) {
    if (!v.is_string()) return wrong_type(v, "a string, one of " + enum_choices<T>(), path);
    std::string_view s(v.get_string().data(), v.get_string().size());
    if (auto value = enum_from_name<T>(s)) {
      out = *value;
      return Status::ok();
    }
    return invalid_argument("must be one of " + enum_choices<T>(), path);
  } else if constexpr (std::is_integral_v<T>) {
    return read_integer(v, out, path);
  } else if constexpr (std::is_same_v<T, Timestamp>) {
    if (!v.is_string()) return wrong_type(v, "a string with an RFC 3339 UTC time", path);
    auto t = parse_timestamp(std::string_view(v.get_string().data(), v.get_string().size()));
    if (!t) return invalid_argument(t.status().message(), path);
    out = *t;
    return Status::ok();
  } else if constexpr (IsId<T>::value) {
    if (!v.is_string()) return wrong_type(v, "a string with a UUID", path);
    auto id = T::parse(std::string_view(v.get_string().data(), v.get_string().size()));
    if (!id) return invalid_argument(id.status().message(), path);
    out = *id;
    return Status::ok();
  } else if constexpr (IsVector<T>::value) {
    if (!v.is_array()) return wrong_type(v, "an array", path);
    const json::array& a = v.get_array();
    out.clear();
    out.reserve(a.size());
    for (size_t i = 0; i < a.size(); ++i) {
      typename T::value_type item{};
      ACCT_RETURN_IF_ERROR(read(a[i], item, path + "[" + std::to_string(i) + "]"));
      out.push_back(std::move(item));
    }
    return Status::ok();
  } else if constexpr (IsOptional<T>::value) {
    if (v.is_null()) {
      out.reset();
      return Status::ok();
    }
    typename T::value_type inner{};
    ACCT_RETURN_IF_ERROR(read(v, inner, path));
    out = std::move(inner);
    return Status::ok();
  } else {
    static_assert(HasFields<T>, "no JSON reader for this type");
    return read_object(v, out, path);
  }
}

// ---- writer ------------------------------------------------------------------------

// Every value, object, array and string of the result lives in `sp`'s
// memory resource (the default heap, or the relay's per-event arena).
template <class T>
json::value write(const T& x, const json::storage_ptr& sp = {});

struct FieldWriter {
  json::object& obj;
  const json::storage_ptr& sp;
  template <class M>
  void operator()(std::string_view name, M& member, bool = false) {
    obj.emplace(json::string_view(name.data(), name.size()), write(member, sp));
  }
};

template <class T>
json::value write(const T& x, const json::storage_ptr& sp) {
  if constexpr (std::is_same_v<T, std::string>) {
    return json::value(json::string_view(x.data(), x.size()), sp);
  } else if constexpr (std::is_same_v<T, bool>) {
    return json::value(x, sp);
  } else if constexpr (JsonEnum<T>) {
    std::string_view n = enum_name(x);
    if (n.empty()) return json::value(static_cast<std::int64_t>(x), sp);  // out of range: show the number
    return json::value(json::string_view(n.data(), n.size()), sp);
  } else if constexpr (std::is_integral_v<T>) {
    if constexpr (std::is_signed_v<T>) {
      return json::value(static_cast<std::int64_t>(x), sp);
    } else {
      return json::value(static_cast<std::uint64_t>(x), sp);
    }
  } else if constexpr (std::is_same_v<T, Timestamp>) {
    char text[kTimestampTextMax];
    return json::value(json::string_view(text, format_timestamp_to(x, text)), sp);
  } else if constexpr (IsId<T>::value) {
    char text[kUuidTextSize];
    format_uuid_to(x.bytes(), text);
    return json::value(json::string_view(text, sizeof text), sp);
  } else if constexpr (IsPersonal<T>::value) {
    if (x.erased) {  // the subject was purged: unambiguous, not a value
      json::object erased(sp);
      erased.emplace("erased", true);
      return erased;
    }
    return write(x.value, sp);
  } else if constexpr (IsVector<T>::value) {
    json::array a(sp);
    a.reserve(x.size());
    for (const auto& item : x) a.push_back(write(item, sp));
    return a;
  } else if constexpr (IsOptional<T>::value) {
    if (!x) return json::value(nullptr, sp);
    return write(*x, sp);
  } else {
    static_assert(HasFields<T>, "no JSON writer for this type");
    json::object obj(sp);
    FieldWriter w{obj, sp};
    fields(w, const_cast<T&>(x));  // the writer only reads
    return obj;
  }
}

// ---- JSON Schema: what read() accepts, type by type --------------------------------
// The command bodies of docs/openapi.yaml are generated from here
// (command_json_schemas), so the document cannot drift from the parser.

template <class T>
json::object schema_of();

// What a field's rule (schema/field_rules.h) adds to its schema; the patterns
// say exactly what aggregates/validation.cc accepts (ValidationTest checks
// them against it).
void apply_text_rule(json::object& o, const FieldRule& r) {
  auto pattern = [&](std::string_view p) {
    o["pattern"] = r.empty_ok ? "^(?:" + std::string(p.substr(1, p.size() - 2)) + ")?$" : std::string(p);
  };
  switch (r.kind) {
    case FieldKind::kText:
      if (r.min > 0) o["minLength"] = r.min;
      o["maxLength"] = r.max;
      return;
    case FieldKind::kEmail:
      pattern(R"(^[^@\u0000-\u0020]+@[^@\u0000-\u0020.][^@\u0000-\u0020]*\.[^@\u0000-\u0020]*[^@\u0000-\u0020.]$)");
      o["maxLength"] = 254;
      return;
    case FieldKind::kPhone:
      pattern(R"(^[0-9+ ().-]*$)");
      o["maxLength"] = 32;
      return;
    case FieldKind::kUrl:
      pattern(R"(^(?:https?://[\s\S]*)?$)");
      o["maxLength"] = 2048;
      return;
    case FieldKind::kLinkedInUrl:
      pattern(R"(^(?:https://www\.linkedin\.com/company/[\s\S]*)?$)");
      o["maxLength"] = 2048;
      return;
    case FieldKind::kCountry: {
      json::array codes;
      if (r.empty_ok) codes.emplace_back("");
      for (std::string_view c : all_countries()) codes.emplace_back(json::string_view(c.data(), c.size()));
      o["enum"] = std::move(codes);
      return;
    }
    case FieldKind::kCurrency: pattern("^[A-Z]{3}$"); return;
    case FieldKind::kMpnId: pattern("^[0-9]{1,10}$"); return;
    case FieldKind::kUuid:
      pattern("^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$");
      return;
    case FieldKind::kDomainName:
      pattern(R"(^[a-z0-9-][a-z0-9.-]*\.[a-z0-9.-]*[a-z0-9-]$)");
      o["maxLength"] = 253;
      return;
    case FieldKind::kLanguage: pattern("^[a-z]{2,3}$"); return;
    case FieldKind::kCulture: pattern("^[a-z]{2}-[a-z]{2}$"); return;
    case FieldKind::kRegion: pattern("^[a-z0-9-]{1,32}$"); return;
    case FieldKind::kOfferId: pattern("^[A-Za-z0-9-]{1,64}$"); return;
    case FieldKind::kNotificationId:
      pattern(R"(^(?:[1-9][0-9]{0,18}|tax\.[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}\.(?:0|[1-9][0-9]{0,17}))$)");
      return;
    case FieldKind::kNumber:
      o["minimum"] = r.min;
      o["maximum"] = r.max;
      return;
    case FieldKind::kList: return;
  }
}

template <class T>
struct FieldSchema {
  json::object& properties;
  json::array& required;
  template <class M>
  void operator()(std::string_view name, M&, bool optional = false) {
    json::object o = schema_of<M>();
    if (const FieldRule* r = find_field_rule<T>(name)) {
      if (r->kind == FieldKind::kList) {
        if (r->min > 0) o["minItems"] = r->min;
        if (r->max != INT64_MAX) o["maxItems"] = r->max;
        if (r->unique) o["uniqueItems"] = true;
        if (const FieldRule* item = find_field_rule<T>(std::string(name) + "[]")) {
          apply_text_rule(o["items"].as_object(), *item);
        }
      } else {
        apply_text_rule(o, *r);
      }
    }
    properties[json::string_view(name.data(), name.size())] = std::move(o);
    if (!optional) required.emplace_back(json::string_view(name.data(), name.size()));
  }
};

template <class T>
json::object object_schema() {
  T probe{};
  json::object properties;
  json::array required;
  FieldSchema<T> f{properties, required};
  fields(f, probe);
  json::object o{{"type", "object"}, {"additionalProperties", false}, {"properties", std::move(properties)}};
  if (!required.empty()) o["required"] = std::move(required);
  return o;
}

template <class T>
json::object schema_of() {
  if constexpr (std::is_same_v<T, std::string>) {
    return json::object{{"type", "string"}};
  } else if constexpr (std::is_same_v<T, bool>) {
    return json::object{{"type", "boolean"}};
  } else if constexpr (JsonEnum<T>) {
    json::array names;
    for (const auto& n : EnumNames<T>::kNames) names.emplace_back(json::string_view(n.name.data(), n.name.size()));
    return json::object{{"type", "string"}, {"enum", std::move(names)}};
  } else if constexpr (std::is_integral_v<T>) {
    json::object o{{"type", "integer"}};
    o["minimum"] = std::numeric_limits<T>::min();
    o["maximum"] = std::numeric_limits<T>::max();
    return o;
  } else if constexpr (std::is_same_v<T, Timestamp>) {
    return json::object{{"type", "string"}, {"pattern", json::string_view(kTimestampPattern.data(), kTimestampPattern.size())}};
  } else if constexpr (IsId<T>::value) {
    return json::object{{"type", "string"}, {"format", "uuid"}};
  } else if constexpr (IsVector<T>::value) {
    return json::object{{"type", "array"}, {"items", schema_of<typename T::value_type>()}};
  } else if constexpr (IsOptional<T>::value) {
    json::object o = schema_of<typename T::value_type>();
    o["nullable"] = true;
    return o;
  } else {
    static_assert(HasFields<T>, "no JSON schema for this type");
    return object_schema<T>();
  }
}

template <class C>
json::object command_schema() {
  json::object o = object_schema<C>();
  json::object& properties = o["properties"].as_object();
  json::object with_envelope{{"type", json::object{{"type", "string"}, {"enum", json::array{C::kName}}}},
                             {"command_id", json::object{{"type", "string"}, {"format", "uuid"}}}};
  for (auto& kv : properties) with_envelope.emplace(kv.key(), std::move(kv.value()));
  properties = std::move(with_envelope);
  json::array required{"type", "command_id"};
  if (const json::value* r = o.if_contains("required")) {
    for (const json::value& name : r->as_array()) required.push_back(name);
  }
  o["required"] = std::move(required);
  return o;
}

template <size_t... I>
json::object command_schemas(std::index_sequence<I...>) {
  json::object out;
  ((out[std::string(std::variant_alternative_t<I, Command>::kName) + "Command"] =
        command_schema<std::variant_alternative_t<I, Command>>()),
   ...);
  return out;
}

// ---- command dispatch by name ------------------------------------------------------

using CommandReader = Result<Command> (*)(const json::value&);

template <class C>
Result<Command> read_command(const json::value& v) {
  C c{};
  Status s = read_object(v, c, "");
  if (!s.is_ok()) return s;
  return Command(std::move(c));
}

struct CommandEntry {
  std::string_view name;
  CommandReader reader;
};

template <size_t... I>
std::vector<CommandEntry> command_entries(std::index_sequence<I...>) {
  return {CommandEntry{std::variant_alternative_t<I, Command>::kName,
                       &read_command<std::variant_alternative_t<I, Command>>}...};
}

const std::vector<CommandEntry>& command_table() {
  static const std::vector<CommandEntry> kTable = command_entries(std::make_index_sequence<std::variant_size_v<Command>>{});
  return kTable;
}

}  // namespace

std::string_view role_json_name(Role role) { return enum_name(role); }

Result<ParsedCommand> parse_command_json(std::string_view text) {
  ACCT_RETURN_IF_ERROR(check_text(text));
  json::error_code ec;
  // The tree lives only until the command is read out of it (into std types):
  // an arena on the stack instead of an allocation per value and key (a larger
  // command spills over to the heap, freed with the arena).
  unsigned char arena_buffer[4096];
  json::monotonic_resource arena(arena_buffer, sizeof arena_buffer);
  json::value doc = json::parse(json::string_view(text.data(), text.size()), ec, &arena, parse_options());
  if (ec) return invalid_argument("malformed JSON: " + ec.message());  // not reached: check_text parsed it
  if (!doc.is_object()) return wrong_type(doc, "an object", "");
  json::object& obj = doc.get_object();

  const json::value* type = obj.if_contains("type");
  if (!type) return invalid_argument("is required (the command name, e.g. \"CreateUser\")", "type");
  if (!type->is_string()) return wrong_type(*type, "a string", "type");
  std::string_view name(type->get_string().data(), type->get_string().size());
  const CommandEntry* entry = nullptr;
  for (const CommandEntry& e : command_table()) {
    if (e.name == name) entry = &e;
  }
  if (!entry) return invalid_argument("unknown command type \"" + std::string(name) + "\"", "type");

  const json::value* id = obj.if_contains("command_id");
  if (!id) return invalid_argument("is required (a UUID that makes the command idempotent)", "command_id");
  if (!id->is_string()) return wrong_type(*id, "a string with a UUID", "command_id");
  auto command_id = CommandId::parse(std::string_view(id->get_string().data(), id->get_string().size()));
  if (!command_id) return invalid_argument(command_id.status().message(), "command_id");
  if (command_id->is_nil()) return invalid_argument("must not be the nil UUID", "command_id");

  obj.erase("type");
  obj.erase("command_id");
  auto command = entry->reader(doc);
  if (!command) return command.status();
  return ParsedCommand{*command_id, std::move(command).value()};
}

json::object command_to_json_object(const ParsedCommand& parsed) {
  json::object out;
  out["type"] = json::string_view(command_name(parsed.command).data(), command_name(parsed.command).size());
  out["command_id"] = parsed.command_id.to_string();
  json::value body = std::visit([](const auto& c) { return write(c); }, parsed.command);
  for (auto& kv : body.get_object()) out.emplace(kv.key(), std::move(kv.value()));
  return out;
}

std::string command_to_json(const ParsedCommand& parsed) { return json::serialize(command_to_json_object(parsed)); }

json::object command_json_schemas() {
  return command_schemas(std::make_index_sequence<std::variant_size_v<Command>>{});
}

json::object field_rule_schema(const FieldRule& rule) {
  json::object o;
  apply_text_rule(o, rule);
  return o;
}

json::value event_to_json(const DomainEvent& event) { return event_to_json(event, {}); }

json::value event_to_json(const DomainEvent& event, const json::storage_ptr& sp) {
  json::value out = std::visit([&sp](const auto& e) { return write(e, sp); }, event);
  // Fingerprints are bytes, not text: show them as hex.
  std::visit(
      [&out](const auto& e) {
        if constexpr (requires { e.email_fingerprint; }) {
          const auto& fp = e.email_fingerprint;
          out.get_object()["email_fingerprint"] =
              hex_encode(reinterpret_cast<const unsigned char*>(fp.data()), fp.size());
        }
      },
      event);
  return out;
}

boost::json::object recorded_event_json(const RecordedEvent& e, PersonalDataCipher* cipher) {
  boost::json::object o = envelope_json(e);
  PersonalDataScope scope(cipher);
  auto decoded = decode_event(e.type, e.schema_version, e.payload);
  if (decoded) {
    o["data"] = event_to_json(*decoded);
  } else {
    // Not a domain event we know (or damaged): say so rather than guess.
    o["data"] = nullptr;
    o["data_error"] = decoded.status().to_string();
  }
  return o;
}

}  // namespace accountable
