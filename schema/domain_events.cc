#include "schema/domain_events.h"

#include "schema/bounded_binary_archive.h"

#include <cereal/archives/portable_binary.hpp>
#include <cereal/types/array.hpp>
#include <cereal/types/optional.hpp>
#include <cereal/types/string.hpp>
#include <cereal/types/vector.hpp>

#include <exception>
#include <sstream>

namespace accountable {

std::string user_subject(const UserId& id) { return "user:" + id.to_string(); }
std::string contact_subject(const PartnerId& partner, std::string_view slot) {
  return "contact:" + partner.to_string() + ":" + std::string(slot);
}
std::string auditor_subject(const AuditorGrantId& grant) { return "auditor:" + grant.to_string(); }

namespace {

using personal_detail::to_bytes;  // a value's PortableBinary bytes (domain_events.h)

// Parses exactly `bytes` into T with the bounded archive
// (schema/bounded_binary_archive.h): it throws cereal::Exception on short
// input, on a length larger than the bytes left and on a bool byte other than
// 0/1; trailing bytes mean the payload is not a T of this version, so they are
// refused too.
template <class T>
Result<T> from_bytes(std::string_view bytes) {
  T value{};
  std::size_t trailing = 0;
  try {
    BoundedBinaryInputArchive ar(bytes);
    ar(value);
    trailing = ar.remaining();
  } catch (const PersonalDataError& e) {
    return Status(e.status.code(), std::string("event payload of type ") + std::string(T::kType) +
                                       ": personal data: " + e.status.message());
  } catch (const std::exception& e) {
    return corruption(std::string("event payload of type ") + std::string(T::kType) + " does not parse: " + e.what());
  }
  if (trailing != 0) {
    return corruption(std::string("event payload of type ") + std::string(T::kType) + " has trailing bytes");
  }
  return value;
}

template <class T>
Result<DomainEvent> decode_current(std::string_view bytes) {
  auto v = from_bytes<T>(bytes);
  if (!v) return v.status();
  return DomainEvent(std::move(v).value());
}

Result<DomainEvent> upcast_tax_exemption_filed_v1(std::string_view bytes) {
  auto v1 = from_bytes<TaxExemptionFiledV1>(bytes);
  if (!v1) return v1.status();
  TaxExemptionFiled v2;
  v2.exemption_id = v1->exemption_id;
  v2.jurisdiction = v1->jurisdiction;
  v2.certificate_ref = v1->certificate_ref;
  v2.valid_from = v1->filed_at;  // v1 exemptions applied from the moment they were filed
  v2.expires_on = v1->expires_on;
  v2.filed_at = v1->filed_at;
  return DomainEvent(std::move(v2));
}

// Schema 1 of the events that hold personal data wrote it in clear; the
// struct is otherwise the same, so one upcaster reads them all.
template <class T>
Result<DomainEvent> upcast_plain_personal(std::string_view bytes) {
  LegacyPersonalFormat legacy;
  return decode_current<T>(bytes);
}

struct Decoder {
  std::string_view type;
  uint16_t version;
  Result<DomainEvent> (*decode)(std::string_view);
};

template <size_t... I>
std::vector<Decoder> current_decoders(std::index_sequence<I...>) {
  return {Decoder{std::variant_alternative_t<I, DomainEvent>::kType,
                  std::variant_alternative_t<I, DomainEvent>::kSchemaVersion,
                  &decode_current<std::variant_alternative_t<I, DomainEvent>>}...};
}

const std::vector<Decoder>& decoders() {
  static const std::vector<Decoder> kDecoders =
      current_decoders(std::make_index_sequence<std::variant_size_v<DomainEvent>>{});
  return kDecoders;
}

}  // namespace

const std::vector<UpcasterEntry>& upcasters() {
  static const std::vector<UpcasterEntry> kUpcasters = {
      {TaxExemptionFiledV1::kType, TaxExemptionFiledV1::kSchemaVersion, &upcast_tax_exemption_filed_v1},
      {PartnerEnrolled::kType, 1, &upcast_plain_personal<PartnerEnrolled>},
      {LegalProfileUpdated::kType, 1, &upcast_plain_personal<LegalProfileUpdated>},
      {BillingProfileUpdated::kType, 1, &upcast_plain_personal<BillingProfileUpdated>},
      {AuditorAccessIssued::kType, 1, &upcast_plain_personal<AuditorAccessIssued>},
      {UserCreated::kType, 1, &upcast_plain_personal<UserCreated>},
      {UserProfileUpdated::kType, 1, &upcast_plain_personal<UserProfileUpdated>},
  };
  return kUpcasters;
}

std::string_view event_type(const DomainEvent& event) {
  return std::visit([](const auto& e) { return std::decay_t<decltype(e)>::kType; }, event);
}

uint16_t event_schema_version(const DomainEvent& event) {
  return std::visit([](const auto& e) { return std::decay_t<decltype(e)>::kSchemaVersion; }, event);
}

EncodedEvent encode_event(const DomainEvent& event) {
  return std::visit(
      [](const auto& e) {
        using T = std::decay_t<decltype(e)>;
        return EncodedEvent{std::string(T::kType), T::kSchemaVersion, to_bytes(e)};
      },
      event);
}

Result<DomainEvent> decode_event(std::string_view type, uint16_t schema_version, std::string_view bytes) {
  for (const Decoder& d : decoders()) {
    if (d.type == type && d.version == schema_version) return d.decode(bytes);
  }
  for (const UpcasterEntry& u : upcasters()) {
    if (u.type == type && u.from_version == schema_version) return u.upcast(bytes);
  }
  return not_found("no decoder for event type " + std::string(type) + " schema version " +
                       std::to_string(schema_version),
                   "type");
}

std::string encode_tax_exemption_filed_v1(const TaxExemptionFiledV1& v1) { return to_bytes(v1); }

std::string encode_event_schema_v1(const DomainEvent& event) {
  LegacyPersonalFormat legacy;
  return encode_event(event).bytes;
}

}  // namespace accountable
