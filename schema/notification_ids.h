// The ids of a user's notifications (GET /v1/me/notifications, MarkNotificationsRead;
// projections/notifications_view.h), in one place:
//   a notification of the log    its event's position, in decimal: "1234"
//   an expiring tax certificate  "tax.<exemption id>.<expires_on, microseconds>": derived
//                                when read, never stored; a renewal (a new expiry) is a new one
#pragma once

#include <optional>
#include <string>
#include <string_view>

#include "schema/domain_events.h"

namespace accountable {

std::string log_notification_id(uint64_t position);
std::string tax_notification_id(const ExemptionId& exemption, Timestamp expires_on);
// The position of a log notification's id; nullopt for any other text.
std::optional<uint64_t> log_notification_position(std::string_view id);
// kInvalidArgument naming `field` unless `id` has one of the forms above.
Status check_notification_id(std::string_view id, const std::string& field);

}  // namespace accountable
