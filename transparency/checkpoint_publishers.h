// Destinations outside the data folder for the signed tree checkpoints
// (serve --publish-checkpoints): an append-only file an operator points at
// another disk or machine, or an HTTP endpoint. The Kafka topic is in
// consumers/checkpoint_topic.h. docs/witness.md, "Publishing checkpoints".
#pragma once

#include <string>

#include "events/checkpoint_signer.h"

namespace accountable {

// "http://..." posts each checkpoint's note (text/plain) and wants a 2xx;
// anything else is a file that gets one JSON line per checkpoint
// ({"origin","tree_size","root","signed_at","checkpoint"}), fsynced.
Result<CheckpointPublisher> checkpoint_publisher_for(const std::string& destination);

}  // namespace accountable
