// Moved to schema/personal_data.h (personal-data sealing is the domain's, not
// the log's). This forwarding header stays only while consumers/relay.h, on
// the Kafka relay's branch, still includes it by this path: switch that include
// to "schema/personal_data.h" when the branches meet, then delete this file.
#pragma once

#include "schema/personal_data.h"
