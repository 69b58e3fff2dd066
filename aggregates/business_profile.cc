#include "aggregates/business_profile.h"

#include "aggregates/roles.h"
#include "aggregates/rule_errors.h"
#include "aggregates/validation.h"

namespace accountable {

namespace {

Status check_details(const BusinessProfileDetails& d, const CatalogState& catalog) {
  if (d.logo) {
    if (static_cast<unsigned>(d.logo->format) > static_cast<unsigned>(LogoFormat::kPng)) {
      return invalid_argument("must be GIF, JPG or PNG", "details.logo.format");
    }
    ACCT_RETURN_IF_ERROR(check_number(d.logo->width_px, field_rule<Logo>("width_px"), "details.logo.width_px"));
    ACCT_RETURN_IF_ERROR(check_field(d.logo->image_ref, field_rule<Logo>("image_ref"), "details.logo.image_ref"));
  }
  ACCT_RETURN_IF_ERROR(check_field(d.description, field_rule<BusinessProfileDetails>("description"), "details.description"));
  ACCT_RETURN_IF_ERROR(check_field(d.website, field_rule<BusinessProfileDetails>("website"), "details.website"));
  ACCT_RETURN_IF_ERROR(
      check_field(d.linkedin_url, field_rule<BusinessProfileDetails>("linkedin_url"), "details.linkedin_url"));
  using D = BusinessProfileDetails;
  ACCT_RETURN_IF_ERROR(check_list(d.industry_focus, field_rule<D>("industry_focus"), field_rule<D>("industry_focus[]"),
                                  "details.industry_focus"));
  ACCT_RETURN_IF_ERROR(
      check_list(d.products, field_rule<D>("products"), field_rule<D>("products[]"), "details.products"));
  ACCT_RETURN_IF_ERROR(check_list(d.service_types, field_rule<D>("service_types"), field_rule<D>("service_types[]"),
                                  "details.service_types"));
  ACCT_RETURN_IF_ERROR(check_list(d.skills, field_rule<D>("skills"), field_rule<D>("skills[]"), "details.skills"));
  for (size_t i = 0; i < d.target_customer_sizes.size(); ++i) {
    if (static_cast<unsigned>(d.target_customer_sizes[i]) > static_cast<unsigned>(CustomerSize::k1000Plus)) {
      return invalid_argument("unknown customer size", "details.target_customer_sizes[" + std::to_string(i) + "]");
    }
  }
  if (d.refuse_referrals_outside_target_sizes && d.target_customer_sizes.empty()) {
    return rule_violated(rule::kReferralSizesNeeded, "refusing referrals outside target sizes needs target sizes",
                            "details.refuse_referrals_outside_target_sizes");
  }
  // Products are only the vendor's products: live offers of the catalog.
  for (size_t i = 0; i < d.products.size(); ++i) {
    if (!is_live_offer(catalog, d.products[i])) {
      return rule_violated(rule::kProductsInCatalog, "product " + d.products[i] + " is not in the vendor's catalog",
                           "details.products[" + std::to_string(i) + "]");
    }
  }
  return Status::ok();
}

Status require_profile(const BusinessProfileState& s, const PartnerId& partner, const std::string& region) {
  if (!s.exists || s.partner_id != partner || s.region != region) {
    return not_found("no business profile for region " + region, "region");
  }
  return Status::ok();
}

Decision profile_write(const BusinessProfileState& s, const PartnerId& partner, const std::string& region,
                       DomainEvent e) {
  return Decision{{StreamWrite{business_profile_stream(partner, region), expect_version_of(s.version), {std::move(e)}}}};
}

// The common prologue: permission, partner, region, and (unless creating) the profile.
template <class C>
Status prologue(const PartnerState& p, const BusinessProfileState& s, const C& c, const CommandContext& ctx,
                bool must_exist) {
  ACCT_RETURN_IF_ERROR(authorize_command(ctx.actor, C::kName, c.partner_id));
  ACCT_RETURN_IF_ERROR(require_partner(p, c.partner_id));
  ACCT_RETURN_IF_ERROR(check_field(c.region, field_rule<C>("region"), "region"));
  if (must_exist) ACCT_RETURN_IF_ERROR(require_profile(s, c.partner_id, c.region));
  return Status::ok();
}

// DOMAIN.md: one business profile per region the partner is authorized in.
Status require_authorized_region(const PartnerState& p, const std::string& region) {
  if (p.authorized_regions.count(region)) return Status::ok();
  std::string authorized;
  for (const auto& r : p.authorized_regions) authorized += (authorized.empty() ? "" : ", ") + r;
  return rule_violated(rule::kRegionAuthorized,
                       "the partner is not authorized in region " + region + " (authorized: " +
                           (authorized.empty() ? std::string("none") : authorized) + ")",
                       "region");
}

}  // namespace

BusinessProfileState evolve(BusinessProfileState s, const DomainEvent& event) {
  s.version = s.version.next();
  if (const auto* created = std::get_if<BusinessProfileCreated>(&event)) {
    s.exists = true;
    s.partner_id = created->partner_id;
    s.region = created->region;
    s.details = created->details;
  } else if (const auto* updated = std::get_if<BusinessProfileUpdated>(&event)) {
    s.details = updated->details;
  } else if (const auto* added = std::get_if<ProfileLocationAdded>(&event)) {
    s.locations[added->location_id] = ProfileLocation{added->address, added->phone};
  } else if (const auto* removed = std::get_if<ProfileLocationRemoved>(&event)) {
    s.locations.erase(removed->location_id);
  } else if (std::holds_alternative<BusinessProfilePublished>(event)) {
    s.published = true;
  } else if (std::holds_alternative<BusinessProfileUnpublished>(event)) {
    s.published = false;
  }
  return s;
}

Result<Decision> decide(const PartnerState& p, const BusinessProfileState& s, const CatalogState& catalog,
                        const CreateBusinessProfile& c, const CommandContext& ctx) {
  ACCT_RETURN_IF_ERROR(prologue(p, s, c, ctx, false));
  ACCT_RETURN_IF_ERROR(require_authorized_region(p, c.region));
  ACCT_RETURN_IF_ERROR(check_details(c.details, catalog));
  if (s.exists) return conflict("a business profile already exists for region " + c.region, "region");
  return profile_write(s, c.partner_id, c.region, BusinessProfileCreated{c.partner_id, c.region, c.details});
}

Result<Decision> decide(const PartnerState& p, const BusinessProfileState& s, const CatalogState& catalog,
                        const UpdateBusinessProfile& c, const CommandContext& ctx) {
  ACCT_RETURN_IF_ERROR(prologue(p, s, c, ctx, true));
  ACCT_RETURN_IF_ERROR(check_details(c.details, catalog));
  return profile_write(s, c.partner_id, c.region, BusinessProfileUpdated{c.details});
}

Result<Decision> decide(const PartnerState& p, const BusinessProfileState& s, const AddProfileLocation& c,
                        const CommandContext& ctx) {
  ACCT_RETURN_IF_ERROR(prologue(p, s, c, ctx, true));
  ACCT_RETURN_IF_ERROR(check_address(c.address, "address"));
  ACCT_RETURN_IF_ERROR(check_field(c.phone, field_rule<AddProfileLocation>("phone"), "phone"));
  if (s.locations.size() >= kMaxProfileLocations) {
    return rule_violated(rule::kMaxProfileLocations, "a business profile has at most 5 locations per region", "address");
  }
  auto id = ctx.id<LocationId>(0);
  if (!id) return id.status();
  return profile_write(s, c.partner_id, c.region, ProfileLocationAdded{*id, c.address, c.phone});
}

Result<Decision> decide(const PartnerState& p, const BusinessProfileState& s, const RemoveProfileLocation& c,
                        const CommandContext& ctx) {
  ACCT_RETURN_IF_ERROR(prologue(p, s, c, ctx, true));
  if (!s.locations.count(c.location_id)) return not_found("no such profile location", "location_id");
  return profile_write(s, c.partner_id, c.region, ProfileLocationRemoved{c.location_id});
}

Result<Decision> decide(const PartnerState& p, const BusinessProfileState& s, const PublishBusinessProfile& c,
                        const CommandContext& ctx) {
  ACCT_RETURN_IF_ERROR(prologue(p, s, c, ctx, true));
  if (s.published) return rule_violated(rule::kProfilePublished, "the profile is already published", "region");
  ACCT_RETURN_IF_ERROR(require_authorized_region(p, c.region));
  return profile_write(s, c.partner_id, c.region, BusinessProfilePublished{ctx.now});
}

Result<Decision> decide(const PartnerState& p, const BusinessProfileState& s, const UnpublishBusinessProfile& c,
                        const CommandContext& ctx) {
  ACCT_RETURN_IF_ERROR(prologue(p, s, c, ctx, true));
  if (!s.published) return rule_violated(rule::kProfilePublished, "the profile is not published", "region");
  return profile_write(s, c.partner_id, c.region, BusinessProfileUnpublished{ctx.now});
}

}  // namespace accountable
