// event_to_json (schema/json_codec.h) with every part of the tree allocated
// from the caller's memory resource: the relay's encoder renders each payload
// into one arena that it reuses (consumers/event_message.cc).
#pragma once

#include <boost/json/storage_ptr.hpp>
#include <boost/json/value.hpp>

#include "schema/domain_events.h"

namespace accountable {

boost::json::value event_to_json(const DomainEvent& event, const boost::json::storage_ptr& sp);

}  // namespace accountable
