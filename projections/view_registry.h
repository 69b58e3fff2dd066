// The views of this build: one line each in view_registry.cc. The runner
// (view_set.h) builds these unless told otherwise; the interface of a view
// (projection.h) knows none of them.
#pragma once

#include <vector>

#include "projections/projection.h"

namespace accountable {

// The views of this build, in a fixed order: catalog, pricing, directory,
// profile, audit, listings, notifications.
const std::vector<ProjectionDefinition>& builtin_projections();

}  // namespace accountable
