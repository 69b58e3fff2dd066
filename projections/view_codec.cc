#include "projections/view_codec.h"

#include <array>
#include <boost/json.hpp>
#include <utility>

#include "schema/stream_names.h"

namespace accountable {

namespace json = boost::json;

namespace {

std::string text_of(const json::value& v) {
  if (!v.is_string()) return {};
  return std::string(v.get_string().data(), v.get_string().size());
}

std::string field(const json::object& o, std::string_view name) {
  const json::value* v = o.if_contains(json::string_view(name.data(), name.size()));
  return v ? text_of(*v) : std::string();
}

std::vector<std::string> string_list(const json::object& o, std::string_view name) {
  std::vector<std::string> out;
  const json::value* v = o.if_contains(json::string_view(name.data(), name.size()));
  if (v && v->is_array()) {
    for (const json::value& item : v->get_array()) out.push_back(text_of(item));
  }
  return out;
}

json::array string_array(const std::vector<std::string>& items) {
  json::array a;
  for (const auto& s : items) a.emplace_back(json::string_view(s.data(), s.size()));
  return a;
}

Result<json::object> parse_object(std::string_view text, std::string_view what) {
  json::error_code ec;
  json::value v = json::parse(json::string_view(text.data(), text.size()), ec);
  if (ec || !v.is_object()) return corruption("a stored " + std::string(what) + " is not a JSON object");
  return std::move(v.get_object());
}

}  // namespace

json::object address_json(const Address& a) {
  return json::object{{"line1", json_view(a.line1)},   {"line2", json_view(a.line2)},
                      {"city", json_view(a.city)},     {"state", json_view(a.state)},
                      {"postal_code", json_view(a.postal_code)}, {"country", json_view(a.country)},
                      {"region", json_view(a.region)}};
}

json::object contact_json(const ContactDetails& c) {
  return json::object{
      {"first_name", json_view(c.first_name)},
      {"last_name", json_view(c.last_name)},
      {"email", json_view(c.email)},
      {"phone", json_view(c.phone)}};
}

json::object details_json(const BusinessProfileDetails& d) {
  json::object o;
  if (d.logo) {
    o["logo"] = json::object{{"format", json_view(enum_text(d.logo->format))},
                             {"width_px", d.logo->width_px},
                             {"image_ref", json_view(d.logo->image_ref)}};
  } else {
    o["logo"] = nullptr;
  }
  o["description"] = json_view(d.description);
  o["website"] = json_view(d.website);
  o["linkedin_url"] = json_view(d.linkedin_url);
  o["industry_focus"] = string_array(d.industry_focus);
  o["products"] = string_array(d.products);
  o["service_types"] = string_array(d.service_types);
  o["skills"] = string_array(d.skills);
  o["allow_vendor_endorsement"] = d.allow_vendor_endorsement;
  json::array sizes;
  for (CustomerSize s : d.target_customer_sizes) sizes.emplace_back(json_view(enum_text(s)));
  o["target_customer_sizes"] = std::move(sizes);
  o["refuse_referrals_outside_target_sizes"] = d.refuse_referrals_outside_target_sizes;
  return o;
}

std::string address_text(const Address& a) { return json::serialize(address_json(a)); }
std::string contact_text(const ContactDetails& c) { return json::serialize(contact_json(c)); }
std::string details_text(const BusinessProfileDetails& d) { return json::serialize(details_json(d)); }

Result<Address> address_from_text(std::string_view text) {
  auto o = parse_object(text, "address");
  if (!o) return o.status();
  return Address{field(*o, "line1"),       field(*o, "line2"),   field(*o, "city"),  field(*o, "state"),
                 field(*o, "postal_code"), field(*o, "country"), field(*o, "region")};
}

Result<ContactDetails> contact_from_text(std::string_view text) {
  auto o = parse_object(text, "contact");
  if (!o) return o.status();
  return ContactDetails{field(*o, "first_name"), field(*o, "last_name"), field(*o, "email"), field(*o, "phone")};
}

Result<BusinessProfileDetails> details_from_text(std::string_view text) {
  auto parsed = parse_object(text, "business profile");
  if (!parsed) return parsed.status();
  const json::object& o = *parsed;
  BusinessProfileDetails d;
  if (const json::value* logo = o.if_contains("logo"); logo && logo->is_object()) {
    const json::object& l = logo->get_object();
    Logo out;
    out.format = enum_from_text<LogoFormat>(field(l, "format")).value_or(LogoFormat::kPng);
    if (const json::value* w = l.if_contains("width_px"); w && w->is_number()) {
      out.width_px = static_cast<uint32_t>(w->to_number<int64_t>());
    }
    out.image_ref = field(l, "image_ref");
    d.logo = std::move(out);
  }
  d.description = field(o, "description");
  d.website = field(o, "website");
  d.linkedin_url = field(o, "linkedin_url");
  d.industry_focus = string_list(o, "industry_focus");
  d.products = string_list(o, "products");
  d.service_types = string_list(o, "service_types");
  d.skills = string_list(o, "skills");
  if (const json::value* b = o.if_contains("allow_vendor_endorsement"); b && b->is_bool()) {
    d.allow_vendor_endorsement = b->get_bool();
  }
  for (const std::string& s : string_list(o, "target_customer_sizes")) {
    if (auto size = enum_from_text<CustomerSize>(s)) d.target_customer_sizes.push_back(*size);
  }
  if (const json::value* b = o.if_contains("refuse_referrals_outside_target_sizes"); b && b->is_bool()) {
    d.refuse_referrals_outside_target_sizes = b->get_bool();
  }
  return d;
}

std::string string_list_text(const std::vector<std::string>& items) { return json::serialize(string_array(items)); }

std::vector<std::string> string_list_from_text(std::string_view text) {
  std::vector<std::string> out;
  json::error_code ec;
  json::value v = json::parse(json::string_view(text.data(), text.size()), ec);
  if (ec || !v.is_array()) return out;
  for (const json::value& item : v.get_array()) out.push_back(text_of(item));
  return out;
}

namespace {

constexpr size_t kUuidLength = 36;

template <class Id>
std::optional<Id> id_after(std::string_view stream, std::string_view prefix) {
  if (stream.size() < prefix.size() + kUuidLength || stream.substr(0, prefix.size()) != prefix) return std::nullopt;
  auto id = Id::parse(stream.substr(prefix.size(), kUuidLength));
  if (!id) return std::nullopt;
  return *id;
}

}  // namespace

std::optional<std::string_view> uuid_after(std::string_view stream, std::string_view prefix) {
  if (stream.size() < prefix.size() + kUuidLength || stream.substr(0, prefix.size()) != prefix) return std::nullopt;
  std::string_view id = stream.substr(prefix.size(), kUuidLength);
  for (size_t i : {8u, 13u, 18u, 23u}) {
    if (id[i] != '-') return std::nullopt;
  }
  return id;
}

std::optional<PartnerId> partner_of_stream(std::string_view stream) {
  if (stream.size() != kPartnerStreamPrefix.size() + kUuidLength) return std::nullopt;
  return id_after<PartnerId>(stream, kPartnerStreamPrefix);
}

std::optional<UserId> user_of_stream(std::string_view stream) {
  if (stream.size() != kUserStreamPrefix.size() + kUuidLength) return std::nullopt;
  return id_after<UserId>(stream, kUserStreamPrefix);
}

std::optional<std::pair<PartnerId, std::string>> business_profile_of_stream(std::string_view stream) {
  auto partner = id_after<PartnerId>(stream, kBusinessProfileStreamPrefix);
  const size_t dash = kBusinessProfileStreamPrefix.size() + kUuidLength;
  if (!partner || stream.size() <= dash + 1 || stream[dash] != '-') return std::nullopt;
  return std::make_pair(*partner, std::string(stream.substr(dash + 1)));
}

}  // namespace accountable
