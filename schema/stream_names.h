// The spelling of the log's stream names: one home for it. aggregates/context.h
// builds names from these; the views and the history read ids back out of them.
// Deterministic names are what make "one per X" hold: a second X finds its
// stream already there.
#pragma once

#include <cstddef>
#include <string_view>

namespace accountable {

inline constexpr std::string_view kPartnerStreamPrefix = "partner-";             // "partner-<uuid>"
inline constexpr std::string_view kUserStreamPrefix = "user-";                   // "user-<uuid>"
inline constexpr std::string_view kBusinessProfileStreamPrefix = "bizprofile-";  // "bizprofile-<uuid>-<region>"
inline constexpr std::string_view kCatalogStream = "catalog";                    // the one catalog

}  // namespace accountable
